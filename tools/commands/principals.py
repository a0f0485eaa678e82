"""`secrets-ledger principals ...`: users, roles and their access keys for the HTTP endpoint.

    principals create NAME [--role]            a user (or role) in the ledger's account
    principals list                            every principal and its access key ids
    principals access-keys create NAME         a new key pair, printed this once
    principals access-keys delete KEY_ID       the key stops working; its secret is destroyed
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.principals import Principal, PrincipalError, Principals
from tools.commands.common import add_data_dir, open_ledger, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("principals", help="manage principals and access keys")
    commands = parser.add_subparsers(dest="principals_command", required=True)

    create = commands.add_parser("create", help="create a user, or a role with --role")
    add_data_dir(create)
    create.add_argument("name")
    create.add_argument("--role", action="store_true")
    create.set_defaults(handler=run_create)

    listing = commands.add_parser("list", help="list principals and their access key ids")
    add_data_dir(listing)
    listing.set_defaults(handler=run_list)

    keys = commands.add_parser("access-keys", help="create or delete access keys")
    key_commands = keys.add_subparsers(dest="access_keys_command", required=True)
    key_create = key_commands.add_parser("create", help="issue a key pair to a principal")
    add_data_dir(key_create)
    key_create.add_argument("name", help="principal name (root, a user or role name) or ARN")
    key_create.set_defaults(handler=run_create_key)
    key_delete = key_commands.add_parser("delete", help="delete an access key")
    add_data_dir(key_delete)
    key_delete.add_argument("access_key_id")
    key_delete.set_defaults(handler=run_delete_key)


def describe(principal: Principal) -> dict[str, Any]:
    return {"Name": principal.name, "Arn": principal.arn, "Type": principal.principal_type,
            "PrincipalId": principal.principal_id, "CreatedDate": principal.created_on.isoformat(),
            "AccessKeys": [{"AccessKeyId": key_id, "Status": "Active" if active else "Deleted"}
                           for key_id, active in principal.access_keys.items()]}


def _with_principals(args: argparse.Namespace, action: Any) -> int:
    ledger = open_ledger(args)
    try:
        action(Principals(ledger))
    except PrincipalError as error:
        print(str(error), file=sys.stderr)
        return 1
    finally:
        ledger.close()
    return 0


def run_create(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: print_json(describe(p.create(args.name, args.role))))


def run_list(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: print_json([describe(x) for x in p.all()]))


def run_create_key(args: argparse.Namespace) -> int:
    def create(principals: Principals) -> None:
        issued = principals.issue_key(principals.find(args.name))
        print_json({"AccessKeyId": issued.access_key_id,
                    "SecretAccessKey": issued.secret_access_key,
                    "Principal": issued.principal_arn})
    return _with_principals(args, create)


def run_delete_key(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: p.delete_key(args.access_key_id))
