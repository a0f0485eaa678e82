"""The ledger against the reference model: random call sequences, every response and error compared.

Each step makes one call on the ledger and the same call on `tests.model.reference.Model`, and
demands the same error code or the same deterministic response fields. After every step the live
aggregates are checked against the model, against the §3 invariants, and against the same
secrets rebuilt from the event log. The default run is bounded; `--slow` runs far longer.
Values are picked by index so a printed failing sequence never shows one.
"""
from __future__ import annotations

import random
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule,
    run_state_machine_as_test,
)

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller, RequestContext
from ledger.errors import LedgerError
from ledger.labels import CURRENT, PREVIOUS
from ledger.secret import Limits
from tests.conftest import Clock
from tests.grants import grant_full_access
from tests.model.checks import check_secret_invariants, rebuilt_from_log, state_of
from tests.model.reference import DEFAULT_KEY, Model, ModelError, ModelLimits

settings.register_profile(
    "model", max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "model-slow", max_examples=500, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CALLER = Caller(arn="arn:aws:iam::123456789012:user/alice", access_key_id="AKIAALICE000000001",
                principal_id="AIDAALICE")
NAMES = ("app/db", "svc/api.key", "team+ops=x@corp_1")
INVALID_NAME = "no spaces allowed"
VALUES: tuple[tuple[str, Any], ...] = (
    ("SecretString", "alpha"), ("SecretString", "beta"), ("SecretBinary", b"alpha"),
    ("SecretString", "gamma"))
TOKENS = tuple(str(uuid.UUID(int=i)) for i in range(1, 5))
UNKNOWN_VERSION = str(uuid.UUID(int=0xDEAD))
UNKNOWN_KEY = "00000000-0000-4000-8000-00000000dead"
LABELS = (CURRENT, PREVIOUS, "AWSPENDING", "blue", "green", "canary", "L1", "L2", "L3", "L4",
          "L5", "L6", "L7")
TAG_KEYS = ("env", "team", "cost", "aws:owner")
HIDDEN = ("SecretString", "SecretBinary")

names = st.sampled_from(NAMES)
forms = st.sampled_from(("name",) * 8 + ("arn", "arn", "partial", "dead", "invalid"))
values = st.one_of(st.none(), st.integers(0, len(VALUES) - 1))
tokens = st.sampled_from(TOKENS + ("fresh", "fresh", "omit"))
keys = st.sampled_from((None,) * 6 + ("", UNKNOWN_KEY, 0, 1, 2))  # int: a created key
tags = st.lists(st.tuples(st.sampled_from(TAG_KEYS[:3] * 3 + TAG_KEYS[3:]),
                          st.sampled_from(("a", "b", ""))),
                max_size=3, unique_by=lambda pair: pair[0])
label_lists = st.lists(st.sampled_from(LABELS), min_size=1, max_size=5)
stages = st.one_of(st.none(), st.none(), label_lists, label_lists, st.just([]))
deletions = st.sampled_from(((None, False), (7, False), (30, False), (None, True), (None, True),
                             (6, False), (7, True)))  # (RecoveryWindowInDays, force)


class LedgerAgainstModel(RuleBasedStateMachine):
    """One ledger, one model, the same calls on both."""

    store = "memory"
    limits = Limits(max_versions=5, max_labels=6)  # small, so both quotas are reached

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.data_dir = Path(tempfile.mkdtemp(prefix="model-")) if self.store == "sqlite" else None
        config = LedgerConfig(data_dir=self.data_dir, limits=self.limits)
        self.ledger = SecretsLedger(config, clock=self.clock, rng=random.Random(7))
        grant_full_access(self.ledger, "user/alice")
        key_prefix = self.ledger.kms.key_arn("")
        self.model = Model(ModelLimits(self.limits.max_versions, self.limits.max_labels),
                           key_prefix)
        self.custom_keys: list[str] = []
        self.fresh = 0
        self.current_holder: dict[str, str | None] = {}  # ARN -> AWSCURRENT's version last step
        self.arns_seen: set[str] = set()

    # ---- plumbing ------------------------------------------------------------------------
    def _call(self, operation: str, request: dict[str, Any]) -> tuple[dict | None, str | None]:
        request = {k: v for k, v in request.items() if v is not None}
        try:
            return self.ledger.call(operation, request, CALLER), None
        except LedgerError as error:
            return None, error.code

    @staticmethod
    def _expect(model_call: Any, *args: Any) -> tuple[Any, str | None]:
        try:
            return model_call(*args), None
        except ModelError as error:
            return None, error.code

    def _agree(self, operation: str, got: tuple[Any, str | None],
               want: tuple[Any, str | None]) -> dict | None:
        (response, error), (expected, expected_error) = got, want
        assert error == expected_error, (
            f"{operation}: ledger gave {error or 'success'}, model expects "
            f"{expected_error or 'success'}")
        if expected is None:
            return None
        response = _normalised(response)
        for member in HIDDEN:  # compared without ever printing a value
            if response.get(member) != expected.get(member):
                raise AssertionError(f"{operation}: the returned {member} differs from the model")
        shown = {k: v for k, v in response.items() if k not in HIDDEN}
        wanted = {k: v for k, v in expected.items() if k not in HIDDEN}
        assert shown == wanted, f"{operation}: ledger {shown} != model {wanted}"
        if "ARN" in response and "Name" in response:
            assert re.fullmatch(rf"arn:aws:secretsmanager:us-east-1:123456789012:secret:"
                                rf"{re.escape(response['Name'])}-[A-Za-z0-9]{{6}}",
                                response["ARN"]), response["ARN"]
        return response

    def _secret_id(self, name: str, form: str) -> str:
        secret = self.model.secrets.get(name)
        if form == "arn" and secret is not None:
            return secret.arn
        if form == "partial" and secret is not None:
            return secret.arn[:-7]
        if form == "dead" and self.model.dead_arns:
            return self.model.dead_arns[-1]
        if form == "invalid":
            return INVALID_NAME
        return name

    def _token(self, choice: str) -> str | None:
        if choice == "omit":
            return None
        if choice == "fresh":
            return self._fresh_token()
        return choice

    def _fresh_token(self) -> str:
        self.fresh += 1
        return str(uuid.UUID(int=(1 << 100) + self.fresh))

    def _model_token(self, sent: str | None, response: dict | None) -> str:
        """The version id the model should use: the sent token, or the one the ledger made."""
        if sent is not None:
            return sent
        if response is not None and "VersionId" in response:
            return response["VersionId"]
        return self._fresh_token()

    def _key(self, choice: Any) -> str | None:
        if isinstance(choice, int):
            return self.custom_keys[choice % len(self.custom_keys)] if self.custom_keys else None
        return choice

    def _admin_context(self, operation: str) -> dict[str, Any]:
        return RequestContext(request_id=str(uuid.uuid4()), operation=operation, caller=CALLER,
                              region=self.ledger.config.region).as_event_field()

    def _model_secret(self, secret_id: str) -> Any:
        try:
            return self.model.resolve(secret_id)
        except ModelError:
            return None

    def _versions(self, secret_id: str, optional: bool) -> st.SearchStrategy[str | None]:
        """A version of the target secret, or one it no longer has, or one it never had."""
        secret = self._model_secret(secret_id)
        known = sorted(secret.versions) if secret is not None else []
        gone = sorted(secret.removed)[:1] if secret is not None else []
        return st.sampled_from(known + gone + [UNKNOWN_VERSION] + ([None] if optional else []))

    @staticmethod
    def _value(index: int | None) -> tuple[str, Any] | None:
        return None if index is None else VALUES[index]

    @staticmethod
    def _value_member(value: tuple[str, Any] | None) -> dict[str, Any]:
        return {} if value is None else {value[0]: value[1]}

    # ---- Secrets Manager operations ------------------------------------------------------
    def _target(self, data: st.DataObject, form: str) -> str:
        """A SecretId: mostly a live secret's, sometimes any name (so also missing ones)."""
        live = sorted(self.model.secrets)
        choices = st.one_of(st.sampled_from(live), names) if live else names
        return self._secret_id(data.draw(choices, label="name"), form)

    @initialize(value=st.integers(0, len(VALUES) - 1), labels=stages.filter(bool))
    def a_secret_with_a_value(self, value, labels):
        self._create(NAMES[0], value, TOKENS[0], None, None, [])
        if labels:
            self._put(NAMES[0], value, "fresh", labels)

    @rule(name=names, value=values, token=tokens, description=st.sampled_from((None, "", "d1")),
          key=keys, tag_pairs=tags)
    def create_secret(self, name, value, token, description, key, tag_pairs):
        self._create(name, value, token, description, key, tag_pairs)

    def _create(self, name, value, token, description, key, tag_pairs) -> None:
        value, sent, kms_key_id = self._value(value), self._token(token), self._key(key)
        request = {"Name": name, "ClientRequestToken": sent, "Description": description,
                   "KmsKeyId": kms_key_id, "Tags": [{"Key": k, "Value": v} for k, v in tag_pairs]
                   or None, **self._value_member(value)}
        got = self._call("CreateSecret", request)
        existing = self.model.secrets.get(name)
        arn = got[0]["ARN"] if got[0] else "arn:not-created"
        want = self._expect(self.model.create, name, value, self._model_token(sent, got[0]),
                            description, kms_key_id, tag_pairs, arn, self.clock.now)
        self._agree("CreateSecret", got, want)
        if got[0] is not None and existing is None:
            assert arn not in self.arns_seen, "a re-created secret reuses an old ARN"
            self.arns_seen.add(arn)

    @rule(form=forms, data=st.data(), value=values, token=tokens,
          description=st.sampled_from((None, "", "d1", "d2")), key=keys)
    def update_secret(self, form, data, value, token, description, key):
        value, sent, kms_key_id = self._value(value), self._token(token), self._key(key)
        secret_id = self._target(data, form)
        got = self._call("UpdateSecret", {"SecretId": secret_id, "ClientRequestToken": sent,
                                          "Description": description, "KmsKeyId": kms_key_id,
                                          **self._value_member(value)})
        token_for_model = self._model_token(sent, got[0]) if value is not None else sent
        want = self._expect(self.model.update, secret_id, description, kms_key_id, value,
                            token_for_model, self.clock.now)
        self._agree("UpdateSecret", got, want)

    @rule(form=forms, data=st.data(), count=st.integers(2, 6),
          gap_hours=st.sampled_from((0, 1, 13)), labels=stages)
    def several_values(self, form, data, count, gap_hours, labels):
        """A burst of writes, hours apart: reaches the version quota and the cleanup rule."""
        secret_id = self._target(data, form)
        for i in range(count):
            self._put(secret_id, i % len(VALUES), "fresh", labels if i % 2 else None)
            self._check_current_moves()
            self.clock.advance(hours=gap_hours)

    @rule(form=forms, data=st.data(), value=st.one_of(st.integers(0, len(VALUES) - 1), values),
          token=tokens, labels=stages)
    def put_secret_value(self, form, data, value, token, labels):
        self._put(self._target(data, form), value, token, labels)

    def _put(self, secret_id, value, token, labels) -> None:
        value, sent = self._value(value), self._token(token)
        got = self._call("PutSecretValue", {"SecretId": secret_id, "ClientRequestToken": sent,
                                            "VersionStages": labels, **self._value_member(value)})
        want = self._expect(self.model.put, secret_id, value, self._model_token(sent, got[0]),
                            labels, self.clock.now)
        self._agree("PutSecretValue", got, want)

    @rule(form=forms, data=st.data(), label=st.sampled_from(LABELS))
    def update_secret_version_stage(self, form, data, label):
        secret_id = self._target(data, form)
        secret = self._model_secret(secret_id)
        holder = secret.labels.get(label) if secret is not None else None
        remove_from = data.draw(st.one_of(st.just(holder), self._versions(secret_id, True)),
                                label="RemoveFromVersionId")
        move_to = data.draw(self._versions(secret_id, True), label="MoveToVersionId")
        got = self._call("UpdateSecretVersionStage", {
            "SecretId": secret_id, "VersionStage": label, "RemoveFromVersionId": remove_from,
            "MoveToVersionId": move_to})
        want = self._expect(self.model.update_stage, secret_id, label, remove_from, move_to,
                            self.clock.now)
        self._agree("UpdateSecretVersionStage", got, want)

    @rule(form=forms, data=st.data(),
          by=st.sampled_from(("current", "current", "stage", "id", "id+stage")))
    def get_secret_value(self, form, data, by):
        secret_id = self._target(data, form)
        version_id = (data.draw(self._versions(secret_id, False), label="VersionId")
                      if "id" in by else None)
        stage = data.draw(st.sampled_from(LABELS), label="stage") if "stage" in by else None
        got = self._call("GetSecretValue", {"SecretId": secret_id, "VersionId": version_id,
                                            "VersionStage": stage})
        want = self._expect(self.model.get, secret_id, version_id, stage, self.clock.now)
        self._agree("GetSecretValue", got, want)

    @rule(form=forms, data=st.data(), how=deletions)
    def delete_secret(self, form, data, how):
        window, force = how
        secret_id = self._target(data, form)
        got = self._call("DeleteSecret", {"SecretId": secret_id, "RecoveryWindowInDays": window,
                                          "ForceDeleteWithoutRecovery": force or None})
        want = self._expect(self.model.delete, secret_id, window, force, self.clock.now)
        self._agree("DeleteSecret", got, want)

    @rule(form=forms, data=st.data())
    def restore_secret(self, form, data):
        secret_id = self._target(data, form)
        got = self._call("RestoreSecret", {"SecretId": secret_id})
        self._agree("RestoreSecret", got,
                    self._expect(self.model.restore, secret_id, self.clock.now))

    @rule(form=forms, data=st.data(), tag_pairs=tags.filter(bool))
    def tag_resource(self, form, data, tag_pairs):
        secret_id = self._target(data, form)
        got = self._call("TagResource", {"SecretId": secret_id,
                                         "Tags": [{"Key": k, "Value": v} for k, v in tag_pairs]})
        self._agree("TagResource", got,
                    self._expect(self.model.tag, secret_id, tag_pairs, self.clock.now))

    @rule(form=forms, data=st.data(),
          tag_keys=st.lists(st.sampled_from(TAG_KEYS[:3]), min_size=1, max_size=2, unique=True))
    def untag_resource(self, form, data, tag_keys):
        secret_id = self._target(data, form)
        got = self._call("UntagResource", {"SecretId": secret_id, "TagKeys": tag_keys})
        self._agree("UntagResource", got,
                    self._expect(self.model.untag, secret_id, tag_keys, self.clock.now))

    @rule(form=forms, data=st.data())
    def describe_secret(self, form, data):
        secret_id = self._target(data, form)
        got = self._call("DescribeSecret", {"SecretId": secret_id})
        want = self._expect(self.model.describe, secret_id)
        response = self._agree("DescribeSecret", got, want)
        if response is not None:
            labels = [label for stages_ in response.get("VersionIdsToStages", {}).values()
                      for label in stages_]
            assert len(labels) == len(set(labels)), "a label on two versions"

    @rule(form=forms, data=st.data(), include_deprecated=st.booleans())
    def list_secret_version_ids(self, form, data, include_deprecated):
        secret_id = self._target(data, form)
        got = self._call("ListSecretVersionIds", {"SecretId": secret_id,
                                                  "IncludeDeprecated": include_deprecated})
        if got[0] is not None:
            got = ({**got[0], "Versions": {v["VersionId"]: v for v in got[0]["Versions"]}}, None)
        self._agree("ListSecretVersionIds", got,
                    self._expect(self.model.list_versions, secret_id, include_deprecated))

    @rule(include_planned=st.booleans())
    def list_secrets(self, include_planned):
        response, error = self._call("ListSecrets", {"IncludePlannedDeletion": include_planned})
        assert error is None, error
        listed = {entry["Name"]: entry["ARN"] for entry in response["SecretList"]}
        expected = self.model.list_secrets(include_planned)
        assert listed == expected, f"ListSecrets: ledger {listed} != model {expected}"

    # ---- keys and time -------------------------------------------------------------------
    @precondition(lambda self: len(self.custom_keys) < 3)
    @rule()
    def create_key(self):
        key = self.ledger.kms.create_key("model test key", self.clock.now,
                                         self._admin_context("CreateKey"))
        self.custom_keys.append(key.key_id)
        self.model.key_created(key.key_id)

    @rule(which=st.integers(0, 3), state=st.sampled_from(("Disabled", "Enabled",
                                                          "PendingDeletion")))
    def set_key_state(self, which, state):
        if which == 3 or not self.custom_keys:
            if self.ledger.kms.default_key_arn() is None:
                return  # the AWS managed key is made on first use
            identifier, model_key = "alias/aws/secretsmanager", DEFAULT_KEY
        else:
            identifier = model_key = self.custom_keys[which % len(self.custom_keys)]
        self.ledger.kms.set_state(identifier, state, self.clock.now,
                                  self._admin_context("DisableKey"))
        self.model.key_state_set(model_key, state)

    @rule(hours=st.sampled_from((0.5, 1, 23, 24, 25, 24 * 7 + 1, 24 * 30 + 1)),
          purge=st.booleans())
    def pass_time(self, hours, purge):
        self.clock.advance(hours=hours)
        if purge:
            self.purge_expired()

    @rule()
    def purge_expired(self):
        purged = sorted(self.ledger.purge_expired())
        expected = self.model.purge(self.clock.now)
        assert purged == expected, f"purge_expired ended {purged}, model expects {expected}"

    # ---- after every step ----------------------------------------------------------------
    @invariant()
    def live_state_matches_model_and_log(self):
        default_key = self.ledger.kms.default_key_arn()
        for name, expected in self.model.secrets.items():
            secret = self.ledger.find_secret(name)
            check_secret_invariants(secret, self.limits)
            assert secret.arn == expected.arn
            assert secret.labels == expected.labels, f"{name}: labels differ from the model"
            assert set(secret.versions) == set(expected.versions), f"{name}: versions differ"
            for version_id, version in secret.versions.items():
                key = expected.versions[version_id].key
                want = default_key if key == DEFAULT_KEY else self.model.key_arn(key)
                assert version.sealed.key_arn == want, f"{name}: {version_id} under another key"
            self._check_previous_follows_current(secret)
            rebuilt = rebuilt_from_log(self.ledger, secret)
            assert state_of(rebuilt) == state_of(secret), f"{name}: log replay differs"
        live = {secret.name for secret in self.ledger.all_secrets()}
        assert live == set(self.model.secrets)

    def _check_current_moves(self) -> None:
        for name in self.model.secrets:
            self._check_previous_follows_current(self.ledger.find_secret(name))

    def _check_previous_follows_current(self, secret) -> None:
        """When AWSCURRENT moved in the last call, AWSPREVIOUS is on the version it left."""
        before = self.current_holder.get(secret.arn)
        now = secret.labels.get(CURRENT)
        if before is not None and now != before:
            assert secret.labels.get(PREVIOUS) == before, (
                f"{secret.name}: AWSCURRENT left {before} but AWSPREVIOUS is on "
                f"{secret.labels.get(PREVIOUS)}")
        self.current_holder[secret.arn] = now

    def teardown(self):
        try:
            if self.data_dir is not None:
                self._check_fresh_process_sees_the_same()
        finally:
            self.ledger.close()
            if self.data_dir is not None:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def _check_fresh_process_sees_the_same(self) -> None:
        """A new ledger over the same files rebuilds every secret exactly."""
        config = LedgerConfig(data_dir=self.data_dir, limits=self.limits)
        fresh = SecretsLedger(config, clock=self.clock, rng=random.Random(8))
        try:
            for name in self.model.secrets:
                assert state_of(fresh.find_secret(name)) == state_of(self.ledger.find_secret(name))
        finally:
            fresh.close()


def _normalised(response: dict[str, Any]) -> dict[str, Any]:
    """Lists AWS gives in no defined order, sorted."""
    response = dict(response)
    if "VersionStages" in response:
        response["VersionStages"] = sorted(response["VersionStages"])
    if "VersionIdsToStages" in response:
        response["VersionIdsToStages"] = {k: sorted(v) for k, v in
                                          response["VersionIdsToStages"].items()}
    if "Tags" in response:
        response["Tags"] = sorted(response["Tags"], key=lambda tag: tag["Key"])
    if isinstance(response.get("Versions"), dict):
        response["Versions"] = {vid: _normalised(entry)
                                for vid, entry in response["Versions"].items()}
    return response


class InMemory(LedgerAgainstModel):
    store = "memory"


class OnSQLite(LedgerAgainstModel):
    store = "sqlite"
    limits = Limits(max_versions=5)  # the default 20 labels


def _profile(request: pytest.FixtureRequest) -> settings:
    return settings.get_profile("model-slow" if request.config.getoption("--slow") else "model")


def test_ledger_matches_the_model_in_memory(request):
    run_state_machine_as_test(InMemory, settings=_profile(request))


def test_ledger_matches_the_model_on_sqlite(request):
    run_state_machine_as_test(OnSQLite, settings=_profile(request))
