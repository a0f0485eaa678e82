"""`secrets-ledger principals ...`: users, roles, their access keys and identity policies.

    principals create NAME [--role]              a user (or role) in the ledger's account
    principals list                              every principal, its key ids and policy names
    principals delete NAME                       its keys stop working, its policies go
    principals access-keys create NAME           a new key pair, printed this once
    principals access-keys delete KEY_ID         the key stops working; its secret is destroyed
    principals policies put NAME POLICY DOCUMENT attach an identity policy (JSON text,
                                                 file://PATH, or - for stdin)
    principals policies get NAME POLICY          print one identity policy
    principals policies delete NAME POLICY       detach it

Each change is an event on the principal's stream, its context naming the system identity and
the user agent `secrets-ledger-cli`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ledger.principals import Principal, PrincipalError, Principals
from tools.commands.common import add_command, print_json, run_admin

USER_AGENT = "secrets-ledger-cli"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("principals", help="manage principals, access keys and "
                                                      "identity policies")
    commands = parser.add_subparsers(dest="principals_command", required=True)

    create = add_command(commands, "create", "create a user, or a role with --role", run_create)
    create.add_argument("name")
    create.add_argument("--role", action="store_true")
    add_command(commands, "list", "list principals, their access key ids and policy names",
             run_list)
    delete = add_command(commands, "delete", "delete a principal with its keys and policies",
                      run_delete)
    delete.add_argument("name", help="user or role name, or ARN")

    keys = commands.add_parser("access-keys", help="create or delete access keys")
    key_commands = keys.add_subparsers(dest="access_keys_command", required=True)
    key_create = add_command(key_commands, "create", "issue a key pair to a principal",
                          run_create_key)
    key_create.add_argument("name", help="principal name (root, a user or role name) or ARN")
    key_delete = add_command(key_commands, "delete", "delete an access key", run_delete_key)
    key_delete.add_argument("access_key_id")

    policies = commands.add_parser("policies", help="attach, show or detach identity policies")
    policy_commands = policies.add_subparsers(dest="policies_command", required=True)
    put = add_command(policy_commands, "put", "attach (or replace) an identity policy",
                   run_put_policy)
    put.add_argument("name", help="user or role name, or ARN")
    put.add_argument("policy_name")
    put.add_argument("document", help="the policy as JSON text, file://PATH, or - for stdin")
    get = add_command(policy_commands, "get", "print an identity policy", run_get_policy)
    get.add_argument("name")
    get.add_argument("policy_name")
    remove = add_command(policy_commands, "delete", "detach an identity policy", run_delete_policy)
    remove.add_argument("name")
    remove.add_argument("policy_name")


def read_document(argument: str) -> str:
    """A policy given as JSON text, as `file://PATH` (the aws CLI's form) or as `-` (stdin)."""
    if argument == "-":
        return sys.stdin.read()
    if argument.startswith("file://"):
        return Path(argument[len("file://"):]).read_text()
    return argument


def describe(principal: Principal) -> dict[str, Any]:
    return {"Name": principal.name, "Arn": principal.arn, "Type": principal.principal_type,
            "PrincipalId": principal.principal_id, "CreatedDate": principal.created_on.isoformat(),
            "AccessKeys": [{"AccessKeyId": key_id, "Status": "Active" if active else "Deleted"}
                           for key_id, active in principal.access_keys.items()],
            "Policies": sorted(principal.policies)}


def _with_principals(args: argparse.Namespace, action: Any) -> int:
    return run_admin(args, lambda ledger: Principals(ledger, user_agent=USER_AGENT), (PrincipalError,), action)


def run_create(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: print_json(describe(p.create(args.name, args.role))))


def run_list(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: print_json([describe(x) for x in p.all()]))


def run_delete(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: print_json({"Deleted": p.delete(args.name).arn}))


def run_create_key(args: argparse.Namespace) -> int:
    def create(principals: Principals) -> None:
        issued = principals.issue_key(principals.find(args.name))
        print_json({"AccessKeyId": issued.access_key_id,
                    "SecretAccessKey": issued.secret_access_key,
                    "Principal": issued.principal_arn})
    return _with_principals(args, create)


def run_delete_key(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: p.delete_key(args.access_key_id))


def run_put_policy(args: argparse.Namespace) -> int:
    def put(principals: Principals) -> None:
        principal = principals.put_policy(args.name, args.policy_name,
                                          read_document(args.document))
        print_json(describe(principal))
    return _with_principals(args, put)


def run_get_policy(args: argparse.Namespace) -> int:
    def get(principals: Principals) -> None:
        print_json({"PolicyName": args.policy_name, "Principal": principals.find(args.name).arn,
                    "PolicyDocument": json.loads(principals.get_policy(args.name,
                                                                       args.policy_name))})
    return _with_principals(args, get)


def run_delete_policy(args: argparse.Namespace) -> int:
    return _with_principals(args, lambda p: p.delete_policy(args.name, args.policy_name))
