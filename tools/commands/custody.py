"""`signing-key create`, `root-key create` and `root-key rotate`: keys kept outside the data
directory, so a copy of it can neither open a value nor sign a digest.

    signing-key create FILE          a new Ed25519 digest signing key (PEM, mode 0600); prints
                                     its public key, the one to publish
    root-key create FILE             a new root key (base64, mode 0600)
    root-key rotate --new-root-key FILE
                                     re-wrap all key material under FILE's key (created if
                                     absent); a root.key in the data directory is then erased
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from ledger.integrity.signing import create_signing_key_file, public_key_pem
from ledger.keys.private_files import erase_file
from ledger.keys.rootkey import (
    ROOT_KEY_FILE, create_root_key_file, key_beside, load_root_key, read_root_key_file, root_key_fingerprint,
)
from ledger.keys.rotation import RotationError, rotate_root_key
from tools.commands.common import add_command, data_dir_of, open_ledger, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    signing = subparsers.add_parser("signing-key", help="digest signing key files")
    signing_commands = signing.add_subparsers(dest="signing_key_command", required=True)
    create = signing_commands.add_parser("create", help="write a new signing key file (0600)")
    create.add_argument("file", type=Path, metavar="FILE")
    create.set_defaults(handler=run_create_signing_key)

    root = subparsers.add_parser("root-key", help="root key files and rotation")
    root_commands = root.add_subparsers(dest="root_key_command", required=True)
    create = root_commands.add_parser("create", help="write a new root key file (0600)")
    create.add_argument("file", type=Path, metavar="FILE")
    create.set_defaults(handler=run_create_root_key)
    rotate = add_command(root_commands, "rotate", "re-wrap all key material under a new root "
                         "key (stop every server on the ledger first)", run_rotate)
    rotate.add_argument("--new-root-key", type=Path, required=True, metavar="FILE",
                        help="the new root key file, outside the data directory (created if "
                             "absent)")


def run_create_signing_key(args: argparse.Namespace) -> int:
    sys.stdout.write(public_key_pem(create_signing_key_file(args.file).public_key()))
    return 0


def run_create_root_key(args: argparse.Namespace) -> int:
    print(root_key_fingerprint(create_root_key_file(args.file)))
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    data_dir = data_dir_of(args)
    if _inside(args.new_root_key, data_dir):
        print(f"root-key rotate: {args.new_root_key} is inside the data directory; a root key "
              "there travels with every copy of it", file=sys.stderr)
        return 2
    ledger = open_ledger(args)  # first: no new key file for a directory without a ledger
    try:
        new_key = (read_root_key_file(args.new_root_key) if args.new_root_key.exists()
                   else create_root_key_file(args.new_root_key))
        config = ledger.config
        old_key = load_root_key(config.data_dir, config.root_key_file, holds_keys=True)
        rotation = rotate_root_key(ledger, old_key, new_key, operator=getpass.getuser())
        flushed = ledger.recorder.checkpoint() if hasattr(ledger.recorder, "checkpoint") else True
    except RotationError as error:
        print(f"root-key rotate: {error}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    beside = data_dir / ROOT_KEY_FILE
    erased = key_beside(data_dir) == old_key  # the retired key must not stay in the directory
    if erased:
        erase_file(beside)
    print_json({"OldRootKeyFingerprint": rotation.old_fingerprint,
                "NewRootKeyFingerprint": rotation.new_fingerprint,
                "RewrappedKeyMaterials": rotation.rewrapped,
                "ErasedOldRootKeyFile": str(beside) if erased else None})
    print(f"From now on open this ledger with --root-key {args.new_root_key} (or "
          f"LEDGER_ROOT_KEY_FILE); destroy every copy of the old root key.", file=sys.stderr)
    if not flushed:
        print("A reader held the write-ahead log: the old wrapped key material stays in "
              "ledger.db-wal until the next checkpoint.", file=sys.stderr)
    return 0


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())
