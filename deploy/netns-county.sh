#!/usr/bin/env bash
# The compose file's three-organisation federation without Docker: each node in its own Linux
# network namespace (its own network stack, as in a container), reaching the others by the
# service names vaxjo, region and polisen, from folders written by `kronobarn pki county`.
# Needs root (ip netns) and a built binary. Usage:
#   sudo deploy/netns-county.sh up [target/release/kronobarn]   # start; prints the addresses
#   sudo deploy/netns-county.sh down                           # stop and remove the namespaces
set -euo pipefail
DIR=${KRONOBARN_COUNTY_DIR:-/tmp/kronobarn-netns}
NODES=("vaxjo vaxjo-kommun 10.77.0.2" "region region-kronoberg 10.77.0.3" "polisen polisen 10.77.0.4")

down() {
  pkill -TERM -f "kronobarn node --config $DIR/county" 2>/dev/null || true
  sleep 1
  for n in "${NODES[@]}"; do
    set -- $n
    ip netns del "kb-$1" 2>/dev/null || true
    rm -rf "/etc/netns/kb-$1"
  done
  ip link del kbbr0 2>/dev/null || true
}

up() {
  local bin=${1:-target/release/kronobarn}
  down
  rm -rf "$DIR" && mkdir -p "$DIR"
  "$bin" pki county --dir "$DIR/county" \
    --member vaxjo-kommun=vaxjo --member region-kronoberg=region --member polisen=polisen
  ip link add kbbr0 type bridge
  ip addr add 10.77.0.1/24 dev kbbr0
  ip link set kbbr0 up
  for n in "${NODES[@]}"; do
    set -- $n
    ip netns add "kb-$1"
    ip link add "veth-$1" type veth peer name eth0 netns "kb-$1"
    ip link set "veth-$1" master kbbr0
    ip link set "veth-$1" up
    ip netns exec "kb-$1" ip addr add "$3/24" dev eth0
    ip netns exec "kb-$1" ip link set eth0 up
    ip netns exec "kb-$1" ip link set lo up
    mkdir -p "/etc/netns/kb-$1"
    printf '127.0.0.1 localhost\n10.77.0.2 vaxjo\n10.77.0.3 region\n10.77.0.4 polisen\n' > "/etc/netns/kb-$1/hosts"
  done
  for n in "${NODES[@]}"; do
    set -- $n
    ip netns exec "kb-$1" "$bin" node --config "$DIR/county/$2/kronobarn.toml" > "$DIR/$1.log" 2>&1 &
  done
  sleep 2
  for n in "${NODES[@]}"; do
    set -- $n
    echo "$2: client API $3:7443 ($(ip netns exec "kb-$1" "$bin" health --config "$DIR/county/$2/kronobarn.toml")), token $DIR/county/$2/clients/local-system.token, CA $DIR/county/$2/tls/ca.crt"
  done
  echo "The certificates name localhost: tell your client to verify that name (grpcurl -authority localhost, or grpc.ssl_target_name_override)."
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down ;;
  *) echo "usage: $0 up [BINARY] | down" >&2; exit 2 ;;
esac
