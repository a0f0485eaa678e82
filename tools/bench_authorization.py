"""What the policy check costs: UpdateSecret calls/s through the library on an SQLite file, as
the trusted system identity (no check), and as a user whose identity policy has 1 and 50
statements (the allowing statement last, the others ARN-scoped and conditioned on tags, so each
is evaluated). The secret also carries a resource policy in the policy runs. All runs share one
process and disk, interleaved per round. Never prints a secret value.

    python -m tools.bench_authorization [--calls 2000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.principals import Principals
from ledger.secret import Limits

SM = "secretsmanager"


def identity_policy(statements: int) -> dict[str, Any]:
    """`statements - 1` statements that do not match, then the one that allows."""
    filler = [{"Effect": "Allow", "Action": [f"{SM}:Get*", f"{SM}:Update*"],
               "Resource": f"arn:aws:secretsmanager:*:*:secret:t{i}/*",
               "Condition": {"StringEquals": {f"{SM}:ResourceTag/t": f"t{i}"}}}
              for i in range(statements - 1)]
    allowing = {"Sid": "Bench", "Effect": "Allow", "Action": f"{SM}:UpdateSecret",
                "Resource": "arn:aws:secretsmanager:*:123456789012:secret:bench/*",
                "Condition": {"StringEquals": {f"{SM}:ResourceTag/env": "bench"}}}
    return {"Version": "2012-10-17", "Statement": [*filler, allowing]}


RESOURCE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:user/mallory"},
    "Action": f"{SM}:*", "Resource": "*"}]})


def rate(directory: Path, calls: int, statements: int | None) -> float:
    """UpdateSecret calls/s; `statements` None: as the system identity."""
    ledger = SecretsLedger(LedgerConfig(data_dir=directory / "ledger", limits=Limits()))
    system = Caller.system()
    caller = system
    if statements is not None:
        admin = Principals(ledger)
        admin.create("bench")
        admin.put_policy("bench", "bench", identity_policy(statements))
        caller = admin.find("bench").caller("AKIABENCH00000000001")
    names = [f"bench/db-{i}" for i in range(calls // 80 + 1)]  # under 100 versions a day each
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "initial",
                                     "Tags": [{"Key": "env", "Value": "bench"}]}, system)
        if statements is not None:
            ledger.call("PutResourcePolicy", {"SecretId": name,
                                              "ResourcePolicy": RESOURCE_POLICY}, system)
    value = "v" * 64
    started = time.perf_counter()
    for i in range(calls):
        ledger.call("UpdateSecret", {"SecretId": names[i % len(names)], "SecretString": value},
                    caller)
    elapsed = time.perf_counter() - started
    ledger.close()
    return calls / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    runs: dict[str, list[float]] = {"system (no check)": [], "1 statement": [],
                                    "50 statements": []}
    for _ in range(args.rounds):
        for label, statements in (("system (no check)", None), ("1 statement", 1),
                                  ("50 statements", 50)):
            with tempfile.TemporaryDirectory() as tmp:
                runs[label].append(rate(Path(tmp), args.calls, statements))
    base = statistics.median(runs["system (no check)"])
    for label, rates in runs.items():
        median = statistics.median(rates)
        print(f"UpdateSecret, {label:<18}: {median:7.0f} calls/s  ({median / base:4.2f} of "
              f"unchecked; rounds: {', '.join(f'{r:.0f}' for r in rates)})")


if __name__ == "__main__":
    main()
