"""`secrets-ledger keys ...`: the local KMS keys that seal secret values.

    keys create [--description TEXT] [--alias alias/NAME] [--policy DOCUMENT]
    keys list                                   every key with its state, aliases and policy kind
    keys disable KEY | keys enable KEY          KEY is a key id, key ARN, alias or alias ARN
    keys schedule-deletion KEY [--pending-window-in-days 7-30]
    keys cancel-deletion KEY                    back to Disabled, as KMS does
    keys alias alias/NAME KEY                   create the alias, or move it to KEY
    keys policy put KEY DOCUMENT                JSON text, file://PATH, or - for stdin
    keys policy get KEY                         the key's policy (its default if none was put)
    keys retire-fingerprint-key                 destroy the global fingerprint key of a ledger
                                                from before per-secret keys (see README, Keys)

Each change is an event in the log whose context names the system identity and the user agent
`secrets-ledger-cli`.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from ledger.keys.admin import KeyAdmin, KeyAdminError
from ledger.keys.kms_key import KmsKey
from tools.commands.common import add_command, print_json, run_admin
from tools.commands.principals import read_document

USER_AGENT = "secrets-ledger-cli"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="manage the local KMS keys")
    commands = parser.add_subparsers(dest="keys_command", required=True)

    create = add_command(commands, "create", "create a customer managed key", run_create)
    create.add_argument("--description", default="")
    create.add_argument("--alias", default=None)
    create.add_argument("--policy", default=None, help="key policy: JSON, file://PATH or -")
    add_command(commands, "list", "list keys", run_list)
    for name, handler in (("disable", run_disable), ("enable", run_enable),
                          ("cancel-deletion", run_cancel_deletion)):
        add_command(commands, name, f"{name.replace('-', ' ')} a key", handler).add_argument("key")
    schedule = add_command(commands, "schedule-deletion", "schedule a key's deletion",
                        run_schedule_deletion)
    schedule.add_argument("key")
    schedule.add_argument("--pending-window-in-days", type=int, default=30)
    alias = add_command(commands, "alias", "point an alias at a key", run_alias)
    alias.add_argument("alias")
    alias.add_argument("key")

    add_command(commands, "retire-fingerprint-key", "destroy the fingerprint key of versions "
                "written before per-secret keys", run_retire_fingerprint_key)

    policy = commands.add_parser("policy", help="put or get a key policy")
    policy_commands = policy.add_subparsers(dest="key_policy_command", required=True)
    put = add_command(policy_commands, "put", "replace a key's policy", run_put_policy)
    put.add_argument("key")
    put.add_argument("document", help="the policy as JSON text, file://PATH, or - for stdin")
    add_command(policy_commands, "get", "print a key's policy", run_get_policy).add_argument("key")


def describe(key: KmsKey, aliases: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "KeyId": key.key_id, "Arn": key.arn, "Description": key.description,
        "KeyManager": key.key_manager, "KeyState": key.state,
        "CreationDate": key.created_on.isoformat(),
        "KeyPolicy": "custom" if key.policy else "default"}
    if key.deletion_date is not None:
        entry["DeletionDate"] = key.deletion_date.isoformat()
    if aliases is not None:
        entry["Aliases"] = aliases
    return entry


def _with_admin(args: argparse.Namespace, action: Any) -> int:
    return run_admin(args, lambda ledger: KeyAdmin(ledger, user_agent=USER_AGENT), (KeyAdminError,), action)


def run_create(args: argparse.Namespace) -> int:
    def create(admin: KeyAdmin) -> None:
        policy = read_document(args.policy) if args.policy is not None else None
        key = admin.create(args.description, args.alias, policy)
        print_json(describe(key, [args.alias] if args.alias else []))
    return _with_admin(args, create)


def run_list(args: argparse.Namespace) -> int:
    def listing(admin: KeyAdmin) -> None:
        aliases = _aliases(admin)
        print_json([describe(key, aliases.get(key.key_id, [])) for key in admin.keys()])
    return _with_admin(args, listing)


def _aliases(admin: KeyAdmin) -> dict[str, list[str]]:
    """Key id -> the alias names that point at it."""
    found: dict[str, list[str]] = {}
    for alias in admin.kms.all_aliases():
        if alias.key_id is not None:
            found.setdefault(alias.key_id, []).append(alias.alias)
    return found


def run_disable(args: argparse.Namespace) -> int:
    return _with_admin(args, lambda a: print_json(describe(a.disable(args.key))))


def run_enable(args: argparse.Namespace) -> int:
    return _with_admin(args, lambda a: print_json(describe(a.enable(args.key))))


def run_cancel_deletion(args: argparse.Namespace) -> int:
    return _with_admin(args, lambda a: print_json(describe(a.cancel_deletion(args.key))))


def run_schedule_deletion(args: argparse.Namespace) -> int:
    return _with_admin(args, lambda a: print_json(
        describe(a.schedule_deletion(args.key, args.pending_window_in_days))))


def run_alias(args: argparse.Namespace) -> int:
    def alias(admin: KeyAdmin) -> None:
        assigned = admin.alias(args.alias, args.key)
        print_json({"AliasName": assigned.alias, "TargetKeyId": assigned.key_id})
    return _with_admin(args, alias)


def run_put_policy(args: argparse.Namespace) -> int:
    return _with_admin(args, lambda a: print_json(
        describe(a.put_policy(args.key, read_document(args.document)))))


def run_get_policy(args: argparse.Namespace) -> int:
    return _with_admin(args, lambda a: print_json(json.loads(a.get_policy(args.key))))


def run_retire_fingerprint_key(args: argparse.Namespace) -> int:
    def retire(admin: KeyAdmin) -> None:
        print_json({"Retired": admin.retire_fingerprint_key()})
    return _with_admin(args, retire)
