"""``medialayer admin …``: operator commands for a deployment (run with the stack's environment:
MEDIALAYER_TABLE and AWS credentials, or AWS_ENDPOINT_URL for a local endpoint)."""

from __future__ import annotations

import argparse
import json
import sys

from medialayer.dal.tenants import TenantRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.plans import require_plan_name
from medialayer.logic.tenancy import create_organisation


def _create_organisation(args: argparse.Namespace) -> dict[str, str]:
    org, owner, token = create_organisation(args.name, args.owner_email)
    if args.plan:
        TenantRepository().set_plan(org.org_id, require_plan_name(args.plan))
    return {"org_id": org.org_id, "user_id": owner.user_id, "owner_token": token.secret}


def _set_plan(args: argparse.Namespace) -> dict[str, str]:
    tenants = TenantRepository()
    if tenants.get_organisation(args.org) is None:
        raise MediaLayerError("not_found", f"organisation {args.org} not found")
    tenants.set_plan(args.org, require_plan_name(args.plan))
    return {"org_id": args.org, "plan": args.plan}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medialayer")
    admin = parser.add_subparsers(dest="group", required=True).add_parser("admin", help="operator commands")
    commands = admin.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-organisation", help="create an organisation and print its owner's token")
    create.add_argument("--name", required=True)
    create.add_argument("--owner-email", required=True)
    create.add_argument("--plan", help="plan name (default: the catalogue's default)")
    create.set_defaults(run=_create_organisation)
    plan = commands.add_parser("set-plan", help="change an organisation's plan")
    plan.add_argument("--org", required=True)
    plan.add_argument("--plan", required=True)
    plan.set_defaults(run=_set_plan)
    args = parser.parse_args(argv)
    try:
        print(json.dumps(args.run(args), indent=2))
    except MediaLayerError as exc:
        print(json.dumps(exc.envelope()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
