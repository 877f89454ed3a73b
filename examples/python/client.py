#!/usr/bin/env python3
"""Calls a Kronobarn node's client API from Python: create a plan, record consent, read it,
revoke consent and read the access log.

Stubs are generated from the repository's proto/ folder with grpcio-tools on first run (into
gen/ beside this file). Usage:

    python3 -m pip install -r requirements.txt
    python3 client.py --addr localhost:7443 --ca NODE/tls/ca.crt --token "$(cat NODE/clients/local-system.token)"
"""

import argparse
import importlib
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
PROTO = HERE.parent.parent / "proto"
GEN = HERE / "gen"


def stubs():
    """Generates the Python stubs once and imports them."""
    if not (GEN / "kronobarn" / "v1" / "plan_service_pb2_grpc.py").exists():
        from grpc_tools import protoc
        import grpc_tools

        include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
        files = ["kronobarn/v1/domain.proto", "kronobarn/v1/plan_service.proto"]
        GEN.mkdir(exist_ok=True)
        code = protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={GEN}", f"--grpc_python_out={GEN}", *files])
        if code != 0:
            sys.exit(f"protoc failed with {code}")
        for d in (GEN / "kronobarn", GEN / "kronobarn" / "v1"):
            (d / "__init__.py").touch()
    sys.path.insert(0, str(GEN))
    return importlib.import_module("kronobarn.v1.domain_pb2"), importlib.import_module("kronobarn.v1.plan_service_pb2"), importlib.import_module("kronobarn.v1.plan_service_pb2_grpc")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", required=True, help="host:port of the client API, e.g. localhost:7443")
    ap.add_argument("--ca", required=True, help="CA certificate (PEM) the node's certificate chains to")
    ap.add_argument("--token", required=True, help="the calling system's bearer token")
    args = ap.parse_args()

    import grpc

    domain, api, api_grpc = stubs()
    host, port = args.addr.rsplit(":", 1)
    creds = grpc.ssl_channel_credentials(root_certificates=pathlib.Path(args.ca).read_bytes())
    # The development certificate names "localhost"; connect to the address, verify that name.
    channel = grpc.secure_channel(f"{host}:{port}", creds, options=[("grpc.ssl_target_name_override", "localhost")])
    plans = api_grpc.PlanServiceStub(channel)
    md = [
        ("authorization", f"Bearer {args.token}"),
        ("x-kronobarn-user-id", "rektor.python"),
        ("x-kronobarn-user-role", "principal"),
        ("x-kronobarn-user-unit", "ostra-skolan"),
        ("x-kronobarn-purpose", "plan-coordination"),
    ]

    header = domain.PlanHeader(
        child=domain.Child(personal_identity_number="20170101-2393", name="Testbarn Påhittadsson"),
        guardians=[
            domain.Guardian(guardian_id="g1", name="Vårdnadshavare Ett", has_custody=True),
            domain.Guardian(guardian_id="g2", name="Vårdnadshavare Två", has_custody=True),
        ],
        responsible_unit="ostra-skolan",
        responsible_contact=domain.Contact(name="Rektor Påhittad", title="rektor"),
        follow_up_dates=["2027-02-15"],
    )
    plan = plans.CreatePlan(api.CreatePlanRequest(header=header), metadata=md).plan
    print(f"created plan {plan.plan_id} at {plan.home_organization}")

    wheel = domain.Fragment(
        plan_id=plan.plan_id,
        wheel_assessment=domain.WheelAssessment(area=domain.WHEEL_AREA_HEALTH, needs="Sover dåligt.", child_view="Jag är trött."),
    )
    written = plans.PutFragment(api.PutFragmentRequest(fragment=wheel), metadata=md).fragment
    print(f"wrote fragment {written.fragment_id} version {written.version.physical_ms}.{written.version.logical}")

    now = int(time.time() * 1000)
    consent = domain.Consent(
        plan_id=plan.plan_id,
        guardian_consents=[
            domain.GuardianConsent(guardian_id="g1", form=domain.CONSENT_FORM_WRITTEN, given_at_unix_ms=now),
            domain.GuardianConsent(guardian_id="g2", form=domain.CONSENT_FORM_ORAL, given_at_unix_ms=now),
        ],
        valid_until_unix_ms=now + 365 * 24 * 3600 * 1000,
        grants=[domain.Grant(organization="region-kronoberg", categories=[domain.CATEGORY_WHEEL_HEALTH])],
        purpose="plan-coordination",
    )
    recorded = plans.RecordConsent(api.RecordConsentRequest(consent=consent, expected_previous_version=0), metadata=md).consent
    print(f"recorded consent version {recorded.consent_version}")

    seen = plans.GetPlan(api.GetPlanRequest(plan_id=plan.plan_id), metadata=md).plan
    print(f"read plan: {len(seen.fragments)} fragments shown, {len(seen.withheld)} withheld")

    rev = plans.RevokeConsent(api.RevokeConsentRequest(plan_id=plan.plan_id, withdrawn_by="g2"), metadata=md).revocation
    status = plans.GetConsentStatus(api.GetConsentStatusRequest(plan_id=plan.plan_id), metadata=md)
    print(f"revoked: {rev.revocation_id}; {len(status.revocations_in_force)} revocation(s) in force")

    # The plan as a FHIR R4 Bundle, for systems that speak FHIR (the export is itself logged).
    import json

    export = plans.ExportPlan(
        api.ExportPlanRequest(plan_id=plan.plan_id, format=api.EXPORT_FORMAT_FHIR_R4_JSON),
        metadata=md,
    )
    bundle = json.loads(export.content)
    kinds = sorted({e["resource"]["resourceType"] for e in bundle["entry"]})
    print(f"FHIR export: {export.media_type}, {len(bundle['entry'])} entries: {', '.join(kinds)}")

    try:
        plans.GetPlan(api.GetPlanRequest(plan_id="0" * 32), metadata=md)
    except grpc.RpcError as e:
        print(f"unknown plan answers {e.code().name}")

    log = plans.ListAccessLog(api.ListAccessLogRequest(plan_id=plan.plan_id), metadata=md)
    actions = {}
    for entry in log.entries:
        record = domain.AccessRecord.FromString(entry.record)
        name = domain.AccessAction.Name(record.action).removeprefix("ACCESS_ACTION_").lower()
        actions[name] = actions.get(name, 0) + 1
    print("access log: " + ", ".join(f"{n} {a}" for a, n in sorted(actions.items())))


if __name__ == "__main__":
    main()
