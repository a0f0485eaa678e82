"""A reference model of the documented Secrets Manager semantics, in plain dicts.

It is the specification the state machine holds the ledger to, written to be read rather than
to be fast: every operation works on a deep copy of the whole model and swaps it in only when
nothing failed, so a refused call visibly changes nothing. Sources are the semantics reference
(§3 versions and labels, §5 operations, §6 deletion) and its Decisions table, plus the README's
"Decisions" section.

Where several errors apply at once, AWS names no order; the model uses one order for every
operation: shape errors (ValidationException, including a SecretId outside the name charset),
then checks of the request alone (InvalidParameterException), then the secret's existence, then
its recovery window, then checks against its state (versions, labels, tokens), then keys, then
quotas.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
DEFAULT_KEY = "aws/secretsmanager"  # the model's name for the AWS managed key
DEFAULT_KEY_NAME = "DefaultEncryptionKey"  # how ListSecretVersionIds shows it
ENABLED = "Enabled"
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")

Value = tuple[str, Any]  # ("SecretString", str) or ("SecretBinary", bytes)


class ModelError(Exception):
    """The error the documented semantics call for; only the code is compared."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ModelLimits:
    max_versions: int
    max_labels: int
    version_min_age: timedelta = timedelta(hours=24)
    max_tags: int = 50


@dataclass
class ModelVersion:
    value: Value
    created_at: datetime
    key: str  # the KMS key its data key is wrapped under
    seq: int  # creation order, to break ties between versions made at the same instant
    last_accessed: datetime | None = None


@dataclass
class ModelSecret:
    name: str
    arn: str
    created_at: datetime
    description: str | None = None
    kms_key_id: str | None = None  # as the caller gave it; None means the AWS managed key
    tags: dict[str, str] | None = None  # None until the secret was ever tagged
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # label -> version id
    deletion: tuple[datetime, datetime] | None = None  # (requested at, delete after)
    last_changed: datetime | None = None
    last_accessed: datetime | None = None
    removed: set[str] = field(default_factory=set)  # ids of versions the cleanup rule removed

    @property
    def key(self) -> str:
        return self.kms_key_id or DEFAULT_KEY

    def stages_of(self, version_id: str) -> list[str]:
        return sorted(label for label, vid in self.labels.items() if vid == version_id)


def epoch(moment: datetime) -> float:
    return round(moment.timestamp(), 3)


def day_of(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(0), tzinfo=timezone.utc)


class Model:
    """Live secrets by name, KMS key states, and the ARNs of finally deleted secrets."""

    def __init__(self, limits: ModelLimits, key_arn_prefix: str) -> None:
        self.limits = limits
        self.key_arn_prefix = key_arn_prefix
        self.secrets: dict[str, ModelSecret] = {}
        self.keys: dict[str, str] = {DEFAULT_KEY: ENABLED}
        self.dead_arns: list[str] = []
        self._seq = 0

    # ---- plumbing ------------------------------------------------------------------------
    def _atomic(self, operation: Any, *args: Any) -> Any:
        """Run `operation` on a copy of the model; keep the copy only if it succeeded."""
        saved = copy.deepcopy((self.secrets, self.keys, self.dead_arns, self._seq))
        try:
            return operation(*args)
        except ModelError:
            self.secrets, self.keys, self.dead_arns, self._seq = saved
            raise

    def key_arn(self, key: str) -> str:
        return f"{self.key_arn_prefix}{key}"

    def resolve(self, secret_id: str) -> ModelSecret:
        secret = self._resolve(secret_id)
        assert secret is not None
        return secret

    @staticmethod
    def _check_shape(secret_id: str) -> None:
        """§2: a SecretId that is not an ARN must use the name charset (ValidationException)."""
        if not secret_id.startswith("arn:") and not _NAME.fullmatch(secret_id):
            raise ModelError("ValidationException")

    def _resolve(self, secret_id: str, missing_ok: bool = False) -> ModelSecret | None:
        """Name, full ARN, or partial ARN (full ARN minus "-xxxxxx") of a live secret."""
        self._check_shape(secret_id)
        if secret_id.startswith("arn:"):
            for secret in self.secrets.values():
                if secret_id in (secret.arn, secret.arn[:-7]):
                    return secret
        elif secret_id in self.secrets:
            return self.secrets[secret_id]
        if missing_ok:
            return None
        raise ModelError("ResourceNotFoundException")

    def _writable(self, secret_id: str) -> ModelSecret:
        secret = self._resolve(secret_id)
        assert secret is not None
        if secret.deletion is not None:
            raise ModelError("InvalidRequestException")
        return secret

    def _usable_key(self, key: str, failure: str) -> None:
        if key not in self.keys:
            raise ModelError("EncryptionFailure")  # README: a KmsKeyId naming no key
        if self.keys[key] != ENABLED:
            raise ModelError(failure)

    @staticmethod
    def _check_tag_keys(keys: list[str]) -> None:
        if any(key.lower().startswith("aws:") for key in keys):
            raise ModelError("InvalidParameterException")

    # ---- keys (outside the Secrets Manager API) ------------------------------------------
    def key_created(self, key: str) -> None:
        self.keys[key] = ENABLED

    def key_state_set(self, key: str, state: str) -> None:
        self.keys[key] = state

    # ---- versions and labels (§3, Decisions) ---------------------------------------------
    def _add_version(self, secret: ModelSecret, version_id: str, value: Value,
                     stages: list[str] | None, now: datetime) -> None:
        """A new version: labels per §3/§5.3, then the label quota and the cleanup rule."""
        self._usable_key(secret.key, "EncryptionFailure")
        labels = dict(secret.labels)
        old_current = labels.get(CURRENT)
        if stages is None:
            wanted = [CURRENT]
            labels.pop(PENDING, None)  # a default AWSCURRENT move abandons a rotation
        else:
            wanted = list(stages) + ([CURRENT] if old_current is None else [])
        for label in wanted:
            labels[label] = version_id
        if CURRENT in wanted and old_current is not None:
            labels[PREVIOUS] = old_current  # automatic, whatever the request listed
        if len(labels) > self.limits.max_labels:
            raise ModelError("LimitExceededException")
        self._seq += 1
        versions = dict(secret.versions)
        versions[version_id] = ModelVersion(value, now, secret.key, self._seq)
        labelled = set(labels.values())  # Decisions: label-less and *older than* 24 h
        removable = sorted((vid for vid, v in versions.items()
                            if vid not in labelled
                            and now - v.created_at > self.limits.version_min_age),
                           key=lambda vid: (versions[vid].created_at, versions[vid].seq))
        while len(versions) > self.limits.max_versions and removable:
            oldest = removable.pop(0)
            del versions[oldest]
            secret.removed.add(oldest)
        if len(versions) > self.limits.max_versions:
            raise ModelError("LimitExceededException")
        secret.labels, secret.versions, secret.last_changed = labels, versions, now

    # ---- operations ----------------------------------------------------------------------
    def create(self, name: str, value: Value | None, token: str, description: str | None,
               kms_key_id: str | None, tags: list[tuple[str, str]], arn: str,
               now: datetime) -> dict[str, Any]:
        """`arn` is the one the ledger chose (its suffix is random); `token` is the version id."""
        return self._atomic(self._create, name, value, token, description, kms_key_id, tags,
                            arn, now)

    def _create(self, name: str, value: Value | None, token: str, description: str | None,
                kms_key_id: str | None, tags: list[tuple[str, str]], arn: str,
                now: datetime) -> dict[str, Any]:
        if not _NAME.fullmatch(name):
            raise ModelError("ValidationException")
        self._check_tag_keys([key for key, _ in tags])
        existing = self.secrets.get(name)
        if existing is not None:
            if existing.deletion is not None:
                raise ModelError("InvalidRequestException")
            version = existing.versions.get(token) if value is not None else None
            if version is not None and version.value == value:  # an idempotent retry
                return {"ARN": existing.arn, "Name": name, "VersionId": token}
            raise ModelError("ResourceExistsException")
        if kms_key_id:
            self._usable_key(kms_key_id, "EncryptionFailure")
        secret = ModelSecret(name=name, arn=arn, created_at=now, description=description,
                             kms_key_id=kms_key_id or None, tags=dict(tags) or None,
                             last_changed=now)
        response = {"ARN": arn, "Name": name}
        if value is not None:
            self._add_version(secret, token, value, None, now)
            response["VersionId"] = token
        self.secrets[name] = secret
        return response

    def update(self, secret_id: str, description: str | None, kms_key_id: str | None,
               value: Value | None, token: str, now: datetime) -> dict[str, Any]:
        return self._atomic(self._update, secret_id, description, kms_key_id, value, token, now)

    def _update(self, secret_id: str, description: str | None, kms_key_id: str | None,
                value: Value | None, token: str, now: datetime) -> dict[str, Any]:
        secret = self._writable(secret_id)
        if description is not None and description != secret.description:
            secret.description, secret.last_changed = description, now
        if kms_key_id is not None:
            self._change_key(secret, kms_key_id or None, now)
        response: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
        if value is not None:
            existing = secret.versions.get(token)
            if existing is None:
                self._add_version(secret, token, value, None, now)
            elif existing.value != value:
                raise ModelError("ResourceExistsException")
            response["VersionId"] = token
        return response

    def _change_key(self, secret: ModelSecret, kms_key_id: str | None, now: datetime) -> None:
        """§5.2: new versions use the new key; AWSCURRENT/AWSPENDING/AWSPREVIOUS versions are
        re-encrypted under it, which needs the key each of them is under now."""
        new_key = kms_key_id or DEFAULT_KEY
        if new_key not in self.keys:
            raise ModelError("EncryptionFailure")
        if kms_key_id == secret.kms_key_id:
            return
        self._usable_key(new_key, "EncryptionFailure")
        secret.kms_key_id, secret.last_changed = kms_key_id, now
        labelled = {secret.labels[label] for label in (CURRENT, PENDING, PREVIOUS)
                    if label in secret.labels}
        for version_id in labelled:
            version = secret.versions[version_id]
            if version.key != new_key:
                if self.keys[version.key] != ENABLED:
                    raise ModelError("DecryptionFailure")
                version.key = new_key

    def put(self, secret_id: str, value: Value | None, token: str, stages: list[str] | None,
            now: datetime) -> dict[str, Any]:
        return self._atomic(self._put, secret_id, value, token, stages, now)

    def _put(self, secret_id: str, value: Value | None, token: str, stages: list[str] | None,
             now: datetime) -> dict[str, Any]:
        if stages is not None and not stages:
            raise ModelError("ValidationException")  # VersionStages holds 1-20 labels
        self._check_shape(secret_id)
        secret = self._writable(secret_id)
        if value is None:
            raise ModelError("InvalidRequestException")
        existing = secret.versions.get(token)
        if existing is None:
            self._add_version(secret, token, value, stages, now)
        elif existing.value != value:
            raise ModelError("ResourceExistsException")
        return {"ARN": secret.arn, "Name": secret.name, "VersionId": token,
                "VersionStages": secret.stages_of(token)}

    def update_stage(self, secret_id: str, label: str, remove_from: str | None,
                     move_to: str | None, now: datetime) -> dict[str, Any]:
        return self._atomic(self._update_stage, secret_id, label, remove_from, move_to, now)

    def _update_stage(self, secret_id: str, label: str, remove_from: str | None,
                      move_to: str | None, now: datetime) -> dict[str, Any]:
        """§5.7, with the README's decision that AWSCURRENT cannot be removed without a move."""
        secret = self._writable(secret_id)
        for version_id in (remove_from, move_to):
            if version_id is not None and version_id not in secret.versions:
                raise ModelError("InvalidParameterException")
        labels = dict(secret.labels)
        holder = labels.get(label)
        if remove_from is not None and holder != remove_from:
            raise ModelError("InvalidParameterException")
        if move_to is None:
            if remove_from is None or label == CURRENT:
                raise ModelError("InvalidParameterException")
            del labels[label]
        else:
            if holder is not None and holder not in (move_to, remove_from):
                raise ModelError("InvalidParameterException")
            labels[label] = move_to
            if label == CURRENT and holder is not None and holder != move_to:
                labels[PREVIOUS] = holder
        if len(labels) > self.limits.max_labels:
            raise ModelError("LimitExceededException")
        if labels != secret.labels:
            secret.labels, secret.last_changed = labels, now
        return {"ARN": secret.arn, "Name": secret.name}

    def get(self, secret_id: str, version_id: str | None, stage: str | None,
            now: datetime) -> dict[str, Any]:
        return self._atomic(self._get, secret_id, version_id, stage, now)

    def _get(self, secret_id: str, version_id: str | None, stage: str | None,
             now: datetime) -> dict[str, Any]:
        secret = self._writable(secret_id)  # §6: no value during the recovery window
        if version_id is not None:
            if version_id not in secret.versions:
                raise ModelError("ResourceNotFoundException")
            if stage is not None and secret.labels.get(stage) != version_id:
                raise ModelError("InvalidRequestException")
        else:
            version_id = secret.labels.get(stage or CURRENT)
            if version_id is None:
                raise ModelError("ResourceNotFoundException")
        version = secret.versions[version_id]
        if self.keys[version.key] != ENABLED:
            raise ModelError("DecryptionFailure")
        version.last_accessed = secret.last_accessed = day_of(now)
        value_type, data = version.value
        return {"ARN": secret.arn, "Name": secret.name, "VersionId": version_id,
                value_type: data, "VersionStages": secret.stages_of(version_id),
                "CreatedDate": epoch(version.created_at)}

    def delete(self, secret_id: str, window: int | None, force: bool,
               now: datetime) -> dict[str, Any]:
        return self._atomic(self._delete, secret_id, window, force, now)

    def _delete(self, secret_id: str, window: int | None, force: bool,
                now: datetime) -> dict[str, Any]:
        self._check_shape(secret_id)
        if window is not None and (force or not 7 <= window <= 30):
            raise ModelError("InvalidParameterException")
        secret = self._resolve(secret_id, missing_ok=force)
        if secret is None:  # a forced delete of an unknown secret is not an error
            return {"Name": secret_id, "DeletionDate": epoch(now)}
        response = {"ARN": secret.arn, "Name": secret.name}
        if force:
            self._end(secret)
            return {**response, "DeletionDate": epoch(now)}
        if secret.deletion is not None:
            raise ModelError("InvalidRequestException")
        delete_after = now + timedelta(days=window or 30)
        secret.deletion, secret.last_changed = (now, delete_after), now
        return {**response, "DeletionDate": epoch(delete_after)}

    def _end(self, secret: ModelSecret) -> None:
        del self.secrets[secret.name]
        self.dead_arns.append(secret.arn)

    def restore(self, secret_id: str, now: datetime) -> dict[str, Any]:
        return self._atomic(self._restore, secret_id, now)

    def _restore(self, secret_id: str, now: datetime) -> dict[str, Any]:
        secret = self._resolve(secret_id)
        assert secret is not None
        if secret.deletion is not None:
            secret.deletion, secret.last_changed = None, now
        return {"ARN": secret.arn, "Name": secret.name}

    def tag(self, secret_id: str, tags: list[tuple[str, str]], now: datetime) -> dict[str, Any]:
        return self._atomic(self._tag, secret_id, tags, now)

    def _tag(self, secret_id: str, tags: list[tuple[str, str]], now: datetime) -> dict[str, Any]:
        self._check_shape(secret_id)
        self._check_tag_keys([key for key, _ in tags])
        secret = self._writable(secret_id)
        merged = {**(secret.tags or {}), **dict(tags)}
        if len(merged) > self.limits.max_tags:
            raise ModelError("InvalidParameterException")
        secret.tags, secret.last_changed = merged, now
        return {}

    def untag(self, secret_id: str, keys: list[str], now: datetime) -> dict[str, Any]:
        return self._atomic(self._untag, secret_id, keys, now)

    def _untag(self, secret_id: str, keys: list[str], now: datetime) -> dict[str, Any]:
        secret = self._writable(secret_id)
        secret.tags = {k: v for k, v in (secret.tags or {}).items() if k not in keys}
        secret.last_changed = now
        return {}

    def purge(self, now: datetime) -> list[str]:
        """End every recovery window that has passed; the ARNs of the secrets it ended."""
        ended = [s for s in self.secrets.values()
                 if s.deletion is not None and s.deletion[1] <= now]
        for secret in ended:
            self._end(secret)
        return sorted(s.arn for s in ended)

    # ---- read-only views -----------------------------------------------------------------
    def describe(self, secret_id: str) -> dict[str, Any]:
        secret = self._resolve(secret_id)
        assert secret is not None
        entry: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
        if secret.description is not None:
            entry["Description"] = secret.description
        if secret.kms_key_id:
            entry["KmsKeyId"] = secret.kms_key_id
        entry["LastChangedDate"] = epoch(secret.last_changed or secret.created_at)
        if secret.last_accessed is not None:
            entry["LastAccessedDate"] = epoch(secret.last_accessed)
        if secret.deletion is not None:
            entry["DeletedDate"] = epoch(secret.deletion[0])
        if secret.tags is not None:
            entry["Tags"] = sorted([{"Key": k, "Value": v} for k, v in secret.tags.items()],
                                   key=lambda tag: tag["Key"])
        stages = {vid: secret.stages_of(vid) for vid in set(secret.labels.values())}
        if stages:
            entry["VersionIdsToStages"] = stages
        entry["CreatedDate"] = epoch(secret.created_at)
        return entry

    def list_versions(self, secret_id: str, include_deprecated: bool) -> dict[str, Any]:
        """ListSecretVersionIds, as a map VersionId -> entry (AWS names no order)."""
        secret = self._resolve(secret_id)
        assert secret is not None
        entries = {}
        for version_id, version in secret.versions.items():
            stages = secret.stages_of(version_id)
            if not stages and not include_deprecated:
                continue
            entry: dict[str, Any] = {"VersionId": version_id}
            if stages:
                entry["VersionStages"] = stages
            if version.last_accessed is not None:
                entry["LastAccessedDate"] = epoch(version.last_accessed)
            entry["CreatedDate"] = epoch(version.created_at)
            key = DEFAULT_KEY_NAME if version.key == DEFAULT_KEY else self.key_arn(version.key)
            entry["KmsKeyIds"] = [key]
            entries[version_id] = entry
        return {"ARN": secret.arn, "Name": secret.name, "Versions": entries}

    def list_secrets(self, include_planned_deletion: bool) -> dict[str, str]:
        """ListSecrets as name -> ARN."""
        return {name: s.arn for name, s in self.secrets.items()
                if include_planned_deletion or s.deletion is None}
