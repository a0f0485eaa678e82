"""`secrets-ledger serve`: the AWS-compatible Secrets Manager endpoint (loopback by default).

The root principal's access key comes from LEDGER_ROOT_ACCESS_KEY_ID and
LEDGER_ROOT_SECRET_ACCESS_KEY when both are set. Otherwise the first start creates a key pair,
writes it to DATA_DIR/root-credentials (mode 0600, an AWS shared-credentials file) and prints
it once; later starts read that file. A configured pair replaces the one configured before
(that key stops working at once; `--keep-previous-root-key` keeps it).
"""
from __future__ import annotations

import argparse
import configparser
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from eventsourcing.persistence import IntegrityError

from ledger.application import SecretsLedger
from ledger.config import DEFAULT_ACCOUNT, LedgerConfig
from ledger.integrity.publisher import PublishConflict
from ledger.principals import PrincipalError, Principals, new_key_pair
from tools.commands.common import add_data_dir, data_dir_of, int_between, store_overrides
from tools.commands.integrity import add_digest_dir
from tools.forwarding import TrustedProxies, proxy_network
from tools.transport import (
    HEADER_TIMEOUT_SECONDS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER, Listener, TransportError,
)

KEY_ID_ENV = "LEDGER_ROOT_ACCESS_KEY_ID"
SECRET_ENV = "LEDGER_ROOT_SECRET_ACCESS_KEY"
CREDENTIALS_FILE = "root-credentials"
PROFILE = "secrets-ledger"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the AWS Secrets Manager API over HTTP(S)")
    add_data_dir(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int_between(0, 65535), default=4566)
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--account-id", default=os.environ.get("LEDGER_ACCOUNT_ID",
                                                               DEFAULT_ACCOUNT))
    parser.add_argument("--purge-interval", type=_at_least(0), default=300.0,
                        help="seconds between runs that end passed recovery and key "
                             "pending windows (0: never)")
    parser.add_argument("--body-timeout", type=_at_least(0), default=None,
                        help="seconds a client has to send a request body it declared "
                             "(default: 30); then 408 RequestTimeoutException")
    parser.add_argument("--keep-previous-root-key", action="store_true",
                        help="keep the root access key configured before this start working "
                             "(default: the configured pair replaces it)")
    parser.add_argument("--trusted-proxy", type=proxy_network, action="append", default=[],
                        metavar="CIDR",
                        help="a reverse proxy whose X-Forwarded-For is believed (repeatable; "
                             "none by default: the source address is the TCP peer)")
    parser.add_argument("--tls-cert", metavar="PEM",
                        help="serve HTTPS with this certificate (chain) file; needs --tls-key")
    parser.add_argument("--tls-key", metavar="PEM", help="the certificate's private key file")
    parser.add_argument("--insecure-http", action="store_true",
                        help="allow plain HTTP on a non-loopback --host (refused otherwise)")
    parser.add_argument("--header-timeout", type=_at_least(0), default=HEADER_TIMEOUT_SECONDS,
                        help="seconds a connection has to send a request's headers before it "
                             "is closed (default: %(default)g)")
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS,
                        help="open connections held at once, counted from acceptance; at the "
                             "limit the one waiting longest for its request is closed "
                             "(default: %(default)d)")
    parser.add_argument("--max-connections-per-peer", type=int,
                        default=MAX_CONNECTIONS_PER_PEER,
                        help="open connections held at once from one source address; all "
                             "local clients share 127.0.0.1 (default: %(default)d)")
    add_digest_dir(parser)
    parser.add_argument("--refusal-interval", type=_at_least(0), default=60.0,
                        help="seconds refusals before authentication are counted per source "
                             "IP, key id, error and operation before their one audit record "
                             "(default: 60; 0: one record per refusal)")
    parser.add_argument("--refusal-burst", type=_at_least(1), default=50,
                        help="refusals before authentication a source IP and key id may get "
                             "at once before ThrottlingException (default: 50)")
    parser.add_argument("--refusal-rate", type=_at_least(0), default=5.0,
                        help="refusals per second a source IP and key id regain after the "
                             "burst (default: 5)")
    parser.set_defaults(handler=run_serve)


def _at_least(minimum: float, maximum: float = 1e9) -> Callable[[str], float]:
    """An argparse type: a number from `minimum` to `maximum`."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"not a number from {minimum:g} to {maximum:g}: {text}")
        return value
    return parse


def run_serve(args: argparse.Namespace) -> int:
    from tools.server import create_app, run

    listener = Listener(args.host, args.port, args.tls_cert, args.tls_key, args.insecure_http,
                        args.header_timeout, args.max_connections,
                        args.max_connections_per_peer)
    try:
        listener.check()
    except TransportError as error:
        print(f"secrets-ledger serve: {error}", file=sys.stderr)
        return 2
    data_dir = data_dir_of(args)
    ledger = SecretsLedger(LedgerConfig.from_environ(data_dir=data_dir,
                                                     account_id=args.account_id,
                                                     **store_overrides(args)))
    try:
        _with_retries(lambda: ensure_root_credentials(ledger, data_dir, dict(os.environ),
                                                      args.keep_previous_root_key))
    except PrincipalError as error:
        print(f"cannot start: {error}", file=sys.stderr)
        ledger.close()
        return 2
    if args.digest_dir is not None and not _publish_to(ledger, args.digest_dir):
        ledger.close()
        return 2
    # On PostgreSQL, compete for running the projections from the start, so a dead leader
    # is replaced even while no one reads (see projections.leadership).
    ledger.read_models.follow_in_background()
    options = {"body_timeout": args.body_timeout} if args.body_timeout else {}
    run(create_app(ledger, purge_interval=args.purge_interval or None,
                   trusted_proxies=TrustedProxies(args.trusted_proxy),
                   refusal_interval=args.refusal_interval, refusal_burst=args.refusal_burst,
                   refusal_rate=args.refusal_rate, **options),
        listener, log_level=args.log_level)
    return 0


def _publish_to(ledger: SecretsLedger, directory: Path) -> bool:
    """Start publishing digests; False if the directory cannot be written. A file there that
    differs from the database is evidence to keep, not a reason to stop serving: say so."""
    try:
        ledger.integrity.publish_to(directory)
    except PublishConflict as error:
        print(f"warning: {error}; run secrets-ledger verify --digests", file=sys.stderr)
    except OSError as error:
        print(f"cannot start: cannot publish digests to {directory}: {error}", file=sys.stderr)
        return False
    return True


def _with_retries(action: Callable[[], None], attempts: int = 5) -> None:
    """Servers starting together on one database may race to register the root key: the
    loser's save conflicts, and on the next attempt it finds the key registered."""
    for attempt in range(attempts):
        try:
            action()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def ensure_root_credentials(ledger: SecretsLedger, data_dir: Path, environ: dict[str, str],
                            keep_previous: bool = False) -> None:
    """Make sure the root principal has the configured (or a generated) access key, and,
    unless `keep_previous`, that the key configured before it no longer works."""
    key_id, secret = environ.get(KEY_ID_ENV), environ.get(SECRET_ENV)
    path = data_dir / CREDENTIALS_FILE
    generated = False
    if key_id or secret:
        if not (key_id and secret):
            raise PrincipalError(f"set both {KEY_ID_ENV} and {SECRET_ENV}, or neither")
    elif path.exists():  # registered already, or the start that wrote it stopped before that
        key_id, secret = read_credentials(path)
    else:
        key_id, secret = new_key_pair()
        write_credentials(path, key_id, secret)
        generated = True
    principals = Principals(ledger)
    root = principals.ensure_root()
    principals.ensure_key(root, key_id, secret)
    if generated:
        print("Root credentials, shown this once (also in "
              f"{path}, profile [{PROFILE}]):\n"
              f"  AWS_ACCESS_KEY_ID={key_id}\n"
              f"  AWS_SECRET_ACCESS_KEY={secret}", flush=True)
    if not keep_previous:
        for old in principals.replace_configured_root_keys(root, key_id):
            print(f"root access key {old} replaced by {key_id}: it no longer works "
                  "(--keep-previous-root-key keeps it)", file=sys.stderr, flush=True)


def write_credentials(path: Path, key_id: str, secret: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"[{PROFILE}]\naws_access_key_id = {key_id}\n"
                     f"aws_secret_access_key = {secret}\n")


def read_credentials(path: Path) -> tuple[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    section = parser[PROFILE]
    return section["aws_access_key_id"], section["aws_secret_access_key"]
