"""What must hold of a data directory after the server was killed any number of times."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from eventsourcing.utils import get_topic

from ledger.application import SecretsLedger
from ledger.calls import ApiCallRecorded
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.events import (
    SECRET_EVENTS, SecretCreated, SecretDeleted, VersionCreated, VersionRemoved,
)
from projections.replay import replay
from tests.reliability.eventlog import data_key_rows
from tests.reliability.write_load import Attempt, Tally

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class LogContents:
    names: dict[str, str]  # secret id hex -> name
    versions: dict[tuple[str, str], str]  # (secret id hex, version id) -> value type
    removed: set[tuple[str, str]]
    deleted: set[str]  # secret ids hex
    topics: Counter[str]

    def live_versions(self) -> set[tuple[str, str]]:
        return {key for key in self.versions
                if key not in self.removed and key[0] not in self.deleted}


_WANTED = {get_topic(c) for c in (SecretCreated, VersionCreated, VersionRemoved, SecretDeleted)}


def read_log(ledger: SecretsLedger) -> LogContents:
    contents = LogContents({}, {}, set(), set(), Counter())
    notes = ledger.recorder.select_notifications(0, 10**8, inclusive_of_start=False)
    for note in notes:
        contents.topics[note.topic] += 1
        if note.topic not in _WANTED:
            continue
        event = ledger.mapper.to_domain_event(note)
        secret = event.originator_id.hex
        if isinstance(event, SecretCreated):
            contents.names[secret] = event.name
        elif isinstance(event, VersionCreated):
            assert (secret, event.version_id) not in contents.versions, "version created twice"
            contents.versions[(secret, event.version_id)] = event.value_type
        elif isinstance(event, VersionRemoved):
            contents.removed.add((secret, event.version_id))
        elif isinstance(event, SecretDeleted):
            contents.deleted.add(secret)
    return contents


@dataclass
class Findings:
    versions: int
    acknowledged: int
    unanswered_committed: int
    unanswered_absent: int
    events: int


def check_keys_match_versions(data_dir: Path, log: LogContents) -> None:
    """Every live version has its data key row, and every data key row has its version."""
    rows = data_key_rows(data_dir)
    live = log.live_versions()
    assert not live - rows, f"versions without a data key: {sorted(live - rows)[:5]}"
    assert not rows - live, f"data keys without a live version: {sorted(rows - live)[:5]}"


def check_attempts(log: LogContents, tally: Tally) -> tuple[int, int]:
    """Acknowledged writes are all there; refused ones are absent; every version in the log is
    one a client sent to that secret. Returns (unanswered committed, unanswered absent)."""
    attempts: dict[str, Attempt] = {a.version_id: a for a in tally.acknowledged}
    attempts.update((a.version_id, a) for a in tally.unanswered)
    attempts.update((a.version_id, a) for a, _ in tally.refused)
    attempts.update((a.version_id, a) for a in tally.unsent)
    assert len(attempts) == (len(tally.acknowledged) + len(tally.unanswered)
                             + len(tally.refused) + len(tally.unsent)), "a VersionId used twice"
    for secret, version_id in log.versions:
        attempt = attempts.get(version_id)
        assert attempt is not None, f"version {version_id} was never sent by a client"
        assert log.names[secret] == attempt.name, f"version {version_id} on the wrong secret"
    in_log = {version_id for _, version_id in log.versions}
    lost = [a for a in tally.acknowledged if a.version_id not in in_log]
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[0]}"
    half = [a for a, _ in tally.refused if a.version_id in in_log]
    assert not half, f"refused writes present in the log: {half[:3]}"
    ghosts = [a for a in tally.unsent if a.version_id in in_log]
    assert not ghosts, f"writes that never reached a server are in the log: {ghosts[:3]}"
    committed = sum(a.version_id in in_log for a in tally.unanswered)
    return committed, len(tally.unanswered) - committed


def check_values(ledger: SecretsLedger, log: LogContents, tally: Tally) -> None:
    """Each live version decrypts, by VersionId, to exactly the value its client sent."""
    sent = {a.version_id: a for a in [*tally.acknowledged, *tally.unanswered]}
    caller = Caller.system(ledger.config.account_id)
    for secret, version_id in sorted(log.live_versions()):
        attempt = sent[version_id]
        response = ledger.call("GetSecretValue", {"SecretId": log.names[secret],
                                                  "VersionId": version_id}, caller)
        if attempt.value_type == "SecretString":
            assert response.get("SecretString", "").encode() == attempt.value, version_id
        else:
            assert response.get("SecretBinary") == attempt.value, version_id


def check_projections(ledger: SecretsLedger, log: LogContents) -> None:
    """The live read models, caught up across every crash, equal a rebuild from 0, and hold
    each event exactly once."""
    report = replay(ledger)
    assert report.equal, report.as_json()
    store = ledger.read_models.store
    secret_events = sum(log.topics[get_topic(cls)] for cls in SECRET_EVENTS)
    assert store.query("SELECT COUNT(*) FROM cs_secret_events") == [(secret_events,)]
    audit_records = log.topics[get_topic(ApiCallRecorded)]
    assert store.query("SELECT COUNT(*) FROM audit_events") == [(audit_records,)]


def check_verify(data_dir: Path) -> None:
    """Sign a digest over everything written (refused if any event fails its chain), then
    `verify` must prove the whole log: exit 0, not 3 ("nothing proves this range")."""
    for command in ("digest", "verify"):
        result = subprocess.run([sys.executable, "-m", "tools.cli", command, "--data-dir",
                                 str(data_dir)], cwd=PROJECT, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"


def check_data_dir(data_dir: Path, tally: Tally) -> Findings:
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))
    try:
        log = read_log(ledger)
        check_keys_match_versions(data_dir, log)
        committed, absent = check_attempts(log, tally)
        check_projections(ledger, log)
        check_values(ledger, log, tally)
        events = sum(log.topics.values())
    finally:
        ledger.close()
    check_verify(data_dir)
    return Findings(len(log.versions), len(tally.acknowledged), committed, absent, events)
