"""A generic gRPC client for Kronobarn: it knows none of the .proto files.

It learns the services and message types from the node's server reflection and calls methods with
messages built at run time from JSON, as grpcurl and other generic tools do. Two uses:

    python3 reflect.py list ADDR CA                 # services and health of one node
    python3 reflect.py flow VAXJO REGION COUNTY     # a plan shared from Växjö to the region, then revoked

COUNTY is a folder written by `kronobarn pki county` (tokens and CAs are read from it). Needs
grpcio, grpcio-reflection and grpcio-health-checking from PyPI.
"""

import sys
import time

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

PLANS = "kronobarn.v1.PlanService"


def channel(addr, ca):
    creds = grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read())
    # Development certificates name "localhost": verify that name whatever the address.
    return grpc.secure_channel(addr, creds, options=[("grpc.ssl_target_name_override", "localhost")])


def call(ch, pool, method, body, md):
    """Calls SERVICE/METHOD with a JSON-shaped body; returns the answer as a dict."""
    svc, name = method.rsplit("/", 1)
    m = pool.FindServiceByName(svc).FindMethodByName(name)
    req_cls, resp_cls = GetMessageClass(m.input_type), GetMessageClass(m.output_type)
    fn = ch.unary_unary(
        f"/{svc}/{name}",
        request_serializer=lambda x: x.SerializeToString(),
        response_deserializer=resp_cls.FromString,
    )
    return json_format.MessageToDict(fn(json_format.ParseDict(body, req_cls()), metadata=md))


def user(county, org, unit):
    token = open(f"{county}/{org}/clients/local-system.token").read().strip()
    return [
        ("authorization", f"Bearer {token}"),
        ("x-kronobarn-user-id", "reflect.py"),
        ("x-kronobarn-user-role", "staff"),
        ("x-kronobarn-user-unit", unit),
        ("x-kronobarn-purpose", "plan-coordination"),
    ]


def list_node(addr, ca):
    ch = channel(addr, ca)
    print("services:", ", ".join(ProtoReflectionDescriptorDatabase(ch).get_services()))
    status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest()).status
    print("health:", health_pb2.HealthCheckResponse.ServingStatus.Name(status))


def flow(vaxjo_addr, region_addr, county):
    v = channel(vaxjo_addr, f"{county}/vaxjo-kommun/tls/ca.crt")
    r = channel(region_addr, f"{county}/region-kronoberg/tls/ca.crt")
    pv = DescriptorPool(ProtoReflectionDescriptorDatabase(v))
    pr = DescriptorPool(ProtoReflectionDescriptorDatabase(r))
    mv = user(county, "vaxjo-kommun", "ostra-skolan")
    mr = user(county, "region-kronoberg", "bup")
    header = {
        "child": {"personalIdentityNumber": "20170101-2393", "name": "Testbarn Påhittadsson"},
        "guardians": [{"guardianId": "g1", "name": "Vårdnadshavare Ett", "hasCustody": True}],
        "responsibleUnit": "ostra-skolan",
        "responsibleContact": {"name": "Rektor Påhittad", "phone": "0470-00 00 00"},
    }
    plan = call(v, pv, f"{PLANS}/CreatePlan", {"header": header}, mv)["plan"]["planId"]
    print("created plan", plan, "at vaxjo")
    for body in (
        {"participant": {"organization": "region-kronoberg", "unit": "bup"}},
        {"wheelAssessment": {"area": "WHEEL_AREA_HEALTH", "needs": "Sover dåligt"}},
    ):
        call(v, pv, f"{PLANS}/PutFragment", {"fragment": {"planId": plan, **body}}, mv)
    now = int(time.time() * 1000)
    consent = {
        "planId": plan,
        "guardianConsents": [{"guardianId": "g1", "form": "CONSENT_FORM_WRITTEN", "givenAtUnixMs": str(now)}],
        "validUntilUnixMs": str(now + 86_400_000),
        "purpose": "plan-coordination",
        "grants": [
            {
                "organization": "region-kronoberg",
                "categories": ["CATEGORY_IDENTITY", "CATEGORY_PARTICIPANTS", "CATEGORY_WHEEL_HEALTH"],
            }
        ],
    }
    call(v, pv, f"{PLANS}/RecordConsent", {"consent": consent}, mv)
    start = time.time()
    while True:
        try:
            got = call(r, pr, f"{PLANS}/GetPlan", {"planId": plan}, mr)["plan"]
            kinds = sorted(k for f in got.get("fragments", []) for k in ("header", "participant", "wheelAssessment") if k in f)
            if "wheelAssessment" in kinds:
                print(f"region shows after {time.time() - start:.2f} s: {kinds}")
                break
        except grpc.RpcError:
            pass
        if time.time() - start > 20:
            sys.exit("region never showed the plan")
        time.sleep(0.1)
    call(r, pr, f"{PLANS}/RevokeConsent", {"planId": plan, "withdrawnBy": "g1"}, mr)
    start = time.time()
    while time.time() - start < 20:
        status = call(r, pr, f"{PLANS}/GetConsentStatus", {"planId": plan}, mr)
        done = [s for s in status.get("revocationStatus", []) if not s.get("pending")]
        if done:
            print(f"revocation recorded at region, purged at {', '.join(done[0]['purgedAt'])} in {time.time() - start:.2f} s")
            return
        time.sleep(0.05)
    sys.exit("the revocation did not reach every participant")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "list":
        list_node(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "flow":
        flow(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
