"""Where values may go: a state machine over principals, their policies, KMS keys and secrets,
which follows every value from the key it was first sealed under through every re-seal.

The invariant (issue 12, finding 1): a value reaches a principal only if every re-seal on its
way from the key it was first sealed under was made by a caller allowed, at that moment, to
decrypt under the source key, and the reader may decrypt under the key it is sealed under now.

The model keeps its own record of the flow: after every step it looks at the key store (the
data key that would open each version, the ground truth of where a value is sealed) and turns
every change into a hop `from -> to, made by the step's caller`, judged then by the model's own
reading of the policies it attached, which is deliberately simple and independent of the
ledger's policy engine. Steps that are not Secrets Manager calls (key and policy
administration, time) must move nothing. Values are unique per write and never printed; a
failing run names them by index. The default run is bounded; `--slow` runs far longer.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

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
from ledger.keys.admin import KeyAdmin, KeyAdminError
from ledger.keys.kms_key import DEFAULT_ALIAS
from ledger.labels import CURRENT, PENDING, PREVIOUS
from tests.authorization.conftest import ACCOUNT, World, allow, deny, policy
from tests.conftest import Clock

PRINCIPALS = ("alice", "bob", "deployer")
NAMES = ("flow/a", "flow/b")
ALIAS = "alias/team"
DECRYPT, ENCRYPT, GENERATE = "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"
LEVELS = {"none": frozenset(), "decrypt": frozenset({DECRYPT}),
          "use": frozenset({GENERATE, DECRYPT}), "all": frozenset({GENERATE, DECRYPT, ENCRYPT}),
          "seal-only": frozenset({GENERATE, ENCRYPT})}
MAX_KEYS = 3
DEFAULT = "default"  # the model's name for aws/secretsmanager

principals = st.sampled_from(PRINCIPALS)
names = st.sampled_from(NAMES[:1] * 3 + NAMES[1:])
levels = st.sampled_from(sorted(LEVELS))
key_modes = st.sampled_from(("account", "account", "only:alice", "only:bob", "deny:bob",
                             "deny:alice"))
# what a request names as KmsKeyId: the default key (three spellings), the alias, a created key
key_choices = st.sampled_from(("", DEFAULT_ALIAS, ALIAS, 0, 1, 2))


@dataclass
class Hop:
    source: str
    target: str
    by: str | None  # None: a step that is no Secrets Manager call
    allowed: bool


@dataclass
class Flow:
    """Where one value has been: the key it was first sealed under, and every move since."""

    origin: str
    hops: list[Hop] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.hops[-1].target if self.hops else self.origin


class InformationFlow(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.ledger = SecretsLedger(LedgerConfig(data_dir=None), clock=self.clock,
                                    rng=random.Random(12))
        self.world = World(self.ledger)
        self.keys = KeyAdmin(self.ledger, user_agent="secrets-ledger-cli")
        self.default_arn = self.ledger.kms.default_key(self.clock.now, _setup_context()).arn
        self.cmks: list[str] = []  # ARNs of the customer managed keys, in creation order
        self.key_mode: dict[str, str] = {}
        self.grants: dict[str, dict[str, frozenset[str]]] = {p: {} for p in PRINCIPALS}
        self.denied: dict[str, frozenset[str]] = {p: frozenset() for p in PRINCIPALS}
        self.flows: dict[str, Flow] = {}  # value -> its flow
        self.sealed: dict[tuple[str, str], str] = {}  # (secret ARN, version) -> value
        self.names: dict[str, str] = {}  # secret ARN -> name
        self.written = 0
        for name in PRINCIPALS:
            self._attach(name)

    # ---- the model's reading of the policies -------------------------------------------------
    def may(self, who: str, action: str, key_arn: str) -> bool:
        """Whether `who` may use `key_arn` for `action`, by the documents the model attached."""
        if action == DECRYPT and key_arn in self.denied[who]:
            return False  # an explicit Deny in the identity policy wins everywhere
        if key_arn == self.default_arn:
            return True  # the AWS managed policy: any principal of the account
        mode = self.key_mode.get(key_arn)
        if mode is None:
            return False  # a key the model never made (or one deleted): nobody
        if mode.startswith("only:"):
            return who == mode[5:]  # the key policy names the principal: enough on its own
        if mode == f"deny:{who}" and action == DECRYPT:
            return False
        return action in self.grants[who].get(key_arn, frozenset())

    def _attach(self, who: str) -> None:
        statements = [allow("secretsmanager:*")]
        for key_arn, actions in sorted(self.grants[who].items()):
            if actions:
                statements.append(allow(sorted(actions), key_arn))
        if self.denied[who]:
            statements.append(deny(DECRYPT, sorted(self.denied[who])))
        self.world.grant(who, *statements)

    @staticmethod
    def _key_policy(mode: str) -> str:
        account = {"Sid": "Account", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
                   "Resource": "*"}
        if mode.startswith("only:"):
            return policy({"Sid": "Only", "Effect": "Allow", "Principal": {
                "AWS": f"arn:aws:iam::{ACCOUNT}:user/{mode[5:]}"}, "Action": "kms:*",
                "Resource": "*"})
        if mode.startswith("deny:"):
            return policy(account, {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": {
                "AWS": f"arn:aws:iam::{ACCOUNT}:user/{mode[5:]}"}, "Action": DECRYPT,
                "Resource": "*"})
        return policy(account)

    # ---- observing the ledger ------------------------------------------------------------
    def _observe(self, by: str | None) -> None:
        """Record every change in where a value is sealed as a hop made by `by`."""
        for name in NAMES:
            secret = self.ledger.find_secret(name, missing_ok=True)
            if secret is None:
                continue
            for version_id in secret.versions:
                data_key = self.ledger.key_store.data_key(secret.id.hex, version_id)
                value = self.sealed.get((secret.arn, version_id))
                assert value is not None, f"{name}: a version nobody wrote: {version_id}"
                if data_key is None:
                    continue  # destroyed with its version: nothing to follow any more
                assert data_key.key_arn == secret.versions[version_id].sealed.key_arn, \
                    f"{name}: the log and the key store disagree on {version_id}'s key"
                flow = self.flows[value]
                if data_key.key_arn != flow.key:
                    allowed = by is not None and self.may(by, DECRYPT, flow.key)
                    flow.hops.append(Hop(flow.key, data_key.key_arn, by, allowed))

    def _wrote(self, response: dict[str, Any] | None, value: str) -> None:
        """A write succeeded: its value starts where the key store says it was sealed."""
        if response is None or "VersionId" not in response:
            return
        secret = self.ledger.find_secret(response["ARN"])
        data_key = self.ledger.key_store.data_key(secret.id.hex, response["VersionId"])
        key = (response["ARN"], response["VersionId"])
        if key not in self.sealed:  # an idempotent retry writes nothing
            self.names[response["ARN"]] = response["Name"]
            self.sealed[key] = value
            self.flows[value] = Flow(origin=data_key.key_arn)

    def _call(self, who: str, operation: str, **request: Any) -> dict[str, Any] | None:
        try:
            response = self.world.call(who, operation, **request)
        except LedgerError:
            response = None
        return response

    def _fresh_value(self) -> str:
        self.written += 1
        return f"value-{self.written}"

    def _key_id(self, choice: Any) -> str:
        if isinstance(choice, int):
            return self.cmks[choice % len(self.cmks)] if self.cmks else ""
        return choice

    def _check_read(self, reader: str, value: str, where: str) -> None:
        flow = self.flows[value]
        label = f"value #{value.split('-')[1]}"  # never the value itself
        for hop in flow.hops:
            assert hop.allowed, (
                f"{label} reached {reader} ({where}) after {hop.by or 'a non-API step'} "
                f"re-sealed it from {hop.source} to {hop.target} without kms:Decrypt on the "
                f"source")
        assert self.may(reader, DECRYPT, flow.key), (
            f"{label} reached {reader} ({where}) though it may not decrypt under {flow.key}")

    # ---- setup ---------------------------------------------------------------------------
    @initialize(owner=principals, mode=key_modes)
    def a_secret_under_a_customer_key_its_owner_may_use(self, owner, mode):
        """flow/a under a customer key, flow/b under aws/secretsmanager, both by `owner`."""
        self._create_key(mode)
        self.grants[owner][self.cmks[0]] = LEVELS["all"]
        self._attach(owner)
        self._observe(None)
        self.create_secret(owner, NAMES[0], 0)
        self.create_secret(owner, NAMES[1], "")

    # ---- keys and policies (administration: they may move nothing) ----------------------
    @precondition(lambda self: len(self.cmks) < MAX_KEYS)
    @rule(mode=key_modes)
    def create_key(self, mode):
        self._create_key(mode)
        self._observe(None)

    def _create_key(self, mode: str) -> None:
        key = self.keys.create("flow key", alias=None if self.cmks else ALIAS,
                               policy=None if mode == "account" else self._key_policy(mode))
        self.cmks.append(key.arn)
        self.key_mode[key.arn] = mode

    @precondition(lambda self: self.cmks)
    @rule(which=st.integers(0, MAX_KEYS - 1), mode=key_modes)
    def put_key_policy(self, which, mode):
        key_arn = self.cmks[which % len(self.cmks)]
        try:
            self.keys.put_policy(key_arn, self._key_policy(mode))
        except KeyAdminError:
            return  # deleted
        self.key_mode[key_arn] = mode
        self._observe(None)

    @rule(who=principals, which=st.integers(-1, MAX_KEYS - 1), level=levels,
          deny_decrypt=st.sampled_from((False, False, False, True)))
    def identity_policy(self, who, which, level, deny_decrypt):
        """Allow `who` a level of use of one key, and explicitly deny it Decrypt there or not."""
        key_arn = self._slot(which)
        if key_arn is not None:
            self.grants[who][key_arn] = LEVELS[level]
            denied = self.denied[who] - {key_arn}
            self.denied[who] = denied | {key_arn} if deny_decrypt else denied
            self._attach(who)
        self._observe(None)

    def _slot(self, which: int) -> str | None:
        if which < 0:
            return self.default_arn
        return self.cmks[which % len(self.cmks)] if self.cmks else None

    @precondition(lambda self: self.cmks)
    @rule(which=st.integers(0, MAX_KEYS - 1),
          change=st.sampled_from(("disable", "enable", "schedule_deletion", "cancel_deletion")))
    def key_state(self, which, change):
        try:
            getattr(self.keys, change)(self.cmks[which % len(self.cmks)])
        except KeyAdminError:
            pass  # not allowed in its state, or deleted
        self._observe(None)

    @precondition(lambda self: self.cmks)
    @rule(which=st.integers(0, MAX_KEYS - 1))
    def repoint_alias(self, which):
        try:
            self.keys.alias(ALIAS, self.cmks[which % len(self.cmks)])
        except KeyAdminError:
            pass  # a deleted key
        self._observe(None)

    @rule()
    def pending_windows_end(self):
        self.clock.advance(days=31)
        for arn in self.ledger.purge_expired():
            self.key_mode.pop(arn, None)  # deleted: nobody may use it any more
        self._observe(None)

    # ---- Secrets Manager calls -----------------------------------------------------------
    @rule(who=principals, name=names, key=key_choices)
    def create_secret(self, who, name, key):
        value = self._fresh_value()
        response = self._call(who, "CreateSecret", Name=name, SecretString=value,
                              KmsKeyId=self._key_id(key))
        self._wrote(response, value)
        self._observe(who)

    @rule(who=principals, name=names, pending=st.booleans())
    def put_secret_value(self, who, name, pending):
        value = self._fresh_value()
        stages = {"VersionStages": [PENDING]} if pending else {}
        response = self._call(who, "PutSecretValue", SecretId=name, SecretString=value, **stages)
        self._wrote(response, value)
        self._observe(who)

    @rule(who=principals, name=names, key=st.one_of(st.none(), key_choices),
          with_value=st.booleans())
    def update_secret(self, who, name, key, with_value):
        request: dict[str, Any] = {}
        if key is not None:
            request["KmsKeyId"] = self._key_id(key)
        value = self._fresh_value() if with_value or not request else None
        if value is not None:
            request["SecretString"] = value
        response = self._call(who, "UpdateSecret", SecretId=name, **request)
        if value is not None:
            self._wrote(response, value)
        self._observe(who)

    def _caller(self, data: st.DataObject, name: str) -> str:
        """Anyone, or as often someone who may decrypt every value of the secret where it is
        now, so that allowed re-seals and reads happen as often as refused ones."""
        able = [p for p in PRINCIPALS if all(
            self.may(p, DECRYPT, self.flows[value].key)
            for (arn, _), value in self.sealed.items() if self.names[arn] == name)]
        if able and data.draw(st.booleans(), label="one who may decrypt"):
            return data.draw(st.sampled_from(able), label="who")
        return data.draw(principals, label="who")

    @rule(name=names, key=key_choices, data=st.data())
    def change_key(self, name, key, data):
        """UpdateSecret with KmsKeyId alone: the re-encryption path itself."""
        who = self._caller(data, name)
        self._call(who, "UpdateSecret", SecretId=name, KmsKeyId=self._key_id(key))
        self._observe(who)

    @rule(who=principals, name=names, data=st.data())
    def move_current(self, who, name, data):
        secret = self.ledger.find_secret(name, missing_ok=True)
        if secret is None or not secret.versions:
            return
        target = data.draw(st.sampled_from(sorted(secret.versions)), label="version")
        self._call(who, "UpdateSecretVersionStage", SecretId=name, VersionStage=CURRENT,
                   MoveToVersionId=target, RemoveFromVersionId=secret.labels.get(CURRENT))
        self._observe(who)

    @rule(name=names, stage=st.sampled_from((CURRENT, CURRENT, PREVIOUS, PENDING)),
          data=st.data())
    def get_secret_value(self, name, stage, data):
        who = self._caller(data, name)
        response = self._call(who, "GetSecretValue", SecretId=name, VersionStage=stage)
        self._observe(who)
        if response is not None:
            self._check_read(who, response["SecretString"], f"GetSecretValue {name} {stage}")

    @rule(who=principals)
    def batch_get_secret_value(self, who):
        response = self._call(who, "BatchGetSecretValue", SecretIdList=list(NAMES))
        self._observe(who)
        for entry in (response or {}).get("SecretValues", []):
            self._check_read(who, entry["SecretString"], f"BatchGetSecretValue {entry['Name']}")

    # ---- after every step ----------------------------------------------------------------
    @invariant()
    def every_re_seal_was_made_by_a_caller_who_could_open_it(self):
        for value, flow in self.flows.items():
            for hop in flow.hops:
                assert hop.allowed, (
                    f"value #{value.split('-')[1]} re-sealed from {hop.source} to {hop.target} "
                    f"by {hop.by or 'a non-API step'}, who may not decrypt under the source")

    def teardown(self):
        self.ledger.close()


def _setup_context() -> dict[str, Any]:
    return RequestContext(request_id=str(uuid.uuid4()), operation="CreateKey",
                          caller=Caller.system(), region="us-east-1").as_event_field()


def test_values_reach_only_principals_allowed_along_their_whole_path(request):
    slow = request.config.getoption("--slow")  # CI: about 20 s; --slow: far longer
    run_state_machine_as_test(InformationFlow, settings=settings(
        max_examples=400 if slow else 40, stateful_step_count=60 if slow else 30,
        deadline=None, suppress_health_check=list(HealthCheck)))
