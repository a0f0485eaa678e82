"""SecretsLedger: the one application service every adapter (library, HTTP, CLI) goes through.

`call(operation, request, caller)` validates the AWS-shaped request against the service model,
runs the operation's handler, and commits everything the call changed, its key-store changes and
its audit record in a single transaction. A concurrent write to the same secret makes the save
fail as a whole; the handler then re-runs on fresh state, so no version or label move is lost.
"""
from __future__ import annotations

import copy
import hmac
import logging
import random
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import ApplicationRecorder, IntegrityError
from eventsourcing.utils import get_topic

from ledger.calls import READ_ONLY_OPERATIONS, ApiCall
from ledger.config import LedgerConfig
from ledger.context import Caller, RequestContext
from ledger.errors import (
    SECRET_NOT_FOUND, AccessDeniedException, InternalServiceError, LedgerError,
    ResourceNotFoundException, UnknownOperationException,
)
from ledger.events import SecretCreated
from ledger.group_commit import GroupCommit
from ledger.keys import envelope
from ledger.keys import erasure, secret_keys
from ledger.keys.key_files import KeyFiles
from ledger.keys.keystore import DataKey, KeyStoreChanges
from ledger.keys.kms_key import KmsKey
from ledger.keys.secret_keys import SecretKeys
from ledger.keys.local_kms import LocalKms
from ledger.integrity.digest import Digest
from ledger.integrity.service import LedgerIntegrity
from ledger.integrity.signing import SIGNING_KEY_MATERIAL, read_signing_key_file
from ledger.keys.custody import check_root_key, load_custody, record_custody_change
from ledger.keys.rootkey import load_root_key, root_key_fingerprint, root_key_source
from ledger.name_index import SecretName
from ledger.loading import load
from ledger.names import parse_secret_id
from ledger.outcome import Call, Outcome
from ledger.reads import READ_HANDLERS
from ledger.refusals import RefusalGroup
from ledger.secret import Secret
from ledger.servicemodel import sensitive_members
from ledger.sqlite_pool import use_statement_cache
from ledger.storage import MemoryLedgerRecorder, SQLiteLedgerRecorder
from ledger import validation
from ledger.validation import validate_request
from ledger import values
from ledger.values import Plaintext
from ledger.writes import WRITE_HANDLERS
from ledger.authorization import Authorizer
from ledger.resource_policies import RESOURCE_POLICY_HANDLERS
from projections.read_models import open_read_models
from ledger.events import SecretDeleted, VersionRemoved

log = logging.getLogger(__name__)
HANDLERS = {**WRITE_HANDLERS, **READ_HANDLERS, **RESOURCE_POLICY_HANDLERS}
MAX_ATTEMPTS = 50
KEY_FILES_DIR = "keys"


class SecretsLedger(Application):
    name = "SecretsLedger"

    def __init__(self, config: LedgerConfig | None = None, *,
                 clock: Callable[[], datetime] | None = None, rng: random.Random | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.config = config or LedgerConfig()
        super().__init__(env={**self.config.eventsourcing_env(), **(env or {})})
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.rng = rng or random.SystemRandom()
        self.key_store = self.recorder
        materials = self.key_store.all_materials()
        root_key = load_root_key(self.config.data_dir, self.config.root_key_file,
                                 holds_keys=bool(materials))
        check_root_key(self.repository, materials, root_key,
                       root_key_source(self.config.data_dir, self.config.root_key_file))
        self.root_key_fingerprint = root_key_fingerprint(root_key)
        self.kms = LocalKms(self.repository, self.key_store, root_key,
                            self.config.region, self.config.account_id, self.save)
        self.secret_keys = SecretKeys(self.key_store, self.kms.wrap_material,
                                      self.kms.unwrap_material)
        signing_key = (read_signing_key_file(self.config.signing_key_file)
                       if self.config.signing_key_file is not None else None)
        self.integrity = LedgerIntegrity(
            self.recorder, root_key, clock=self.now, interval=self.config.digest_interval,
            ledger_name=f"secretsmanager:{self.config.region}:{self.config.account_id}",
            signing_key=signing_key, on_key_change=self._record_signing_key_change)
        # Every call is authorized before its handler runs (ledger/authorization.py).
        self.authorizer = Authorizer(self)
        self._secret_ids: dict[str, UUID] = {}
        # A write's first attempt may start from this process's last copy of the secret (a
        # stale copy costs a conflict and a retry). On PostgreSQL other processes write the
        # same secrets, copies are often stale, and a failed insert costs more than a read.
        self.writes_start_from_copy = self.config.backend != "postgres"
        # Describe/List reads are served from these views, caught up before each read.
        self.read_models = open_read_models(self.recorder, self.mapper, self.config.data_dir,
                                            self.config.account_id)
        # Durable stores only: in memory there is no commit cost to share. None turns it off.
        self.group_commit = (GroupCommit(self.recorder) if self.config.backend != "memory"
                             else None)
        self.finish_erasures()

    def finish_erasures(self) -> list[str]:
        """Erase key record files a crash left after their deletion committed (see
        `ledger.keys.erasure`); returns their names. Elsewhere records go with the rows."""
        files = getattr(self.recorder, "key_files", None)
        return [] if files is None else erasure.finish(self.recorder, files, self._kms_key)

    def pending_erasures(self) -> list[str]:
        files = getattr(self.recorder, "key_files", None)
        return [] if files is None else erasure.pending(self.recorder, files, self._kms_key)

    def _kms_key(self, key_id: str) -> KmsKey | None:
        try:
            return load(self.repository, KmsKey.id_for(key_id))
        except AggregateNotFoundError:
            return None

    def construct_recorder(self) -> ApplicationRecorder:
        if self.config.backend == "memory":
            return MemoryLedgerRecorder()
        recorder = super().construct_recorder()
        if isinstance(recorder, SQLiteLedgerRecorder):
            use_statement_cache(recorder.datastore)
            if self.config.data_dir is not None:
                recorder.key_files = KeyFiles(self.config.data_dir / KEY_FILES_DIR)
        return recorder

    # ---- the API -------------------------------------------------------------------------
    def call(self, operation: str, request: dict[str, Any], caller: Caller, *,
             source_ip: str = "127.0.0.1", user_agent: str = "secrets-ledger",
             request_id: str | None = None, owning_service: str | None = None,
             region: str | None = None, secure_transport: bool | None = None
             ) -> dict[str, Any]:
        """Run one Secrets Manager operation as `caller`; returns the AWS-shaped response.

        `region` is the Region the request was addressed to (new ARNs and the audit record
        carry it); None means the configured one. `secure_transport` is whether the request
        came over TLS (`aws:SecureTransport`); None for calls with no connection.
        """
        context = RequestContext(
            request_id=request_id or str(uuid.uuid4()), operation=operation, caller=caller,
            region=region or self.config.region, source_ip=source_ip, user_agent=user_agent,
            parameters=public_parameters(operation, request), secure_transport=secure_transport)
        try:
            handler = HANDLERS.get(operation)
            if handler is None:
                raise UnknownOperationException(f"The operation {operation} is not supported.")
            request = values.with_binary_decoded(request)
            validate_request(operation, request)
            return self._run(handler, request, context, owning_service)
        except LedgerError as error:
            self._record_failure(context, error)
            raise
        except Exception as error:
            raise self._internal_failure(context, error) from None

    def _internal_failure(self, context: RequestContext, error: Exception) -> InternalServiceError:
        """An unexpected failure becomes InternalServiceError. Its own text is never passed on or
        logged, since it might quote data; the log gets its type and where it was raised."""
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f"{frame.filename}:{frame.lineno}" if frame else "?"
        log.error("internal error %s at %s in %s, request %s", type(error).__name__, where,
                  context.operation, context.request_id)
        failure = InternalServiceError("An internal error occurred. The request id identifies it "
                                       "in the ledger's log.")
        try:
            self._record_failure(context, failure)
        except Exception:  # the store itself may be what failed
            log.error("could not record the failed request %s", context.request_id)
        return failure

    def record_rejected_call(self, operation: str, error: LedgerError, caller: Caller, *,
                             source_ip: str, user_agent: str, request_id: str,
                             region: str | None = None) -> None:
        """Audit a call refused before it reached an operation (authentication, protocol)."""
        context = RequestContext(request_id=request_id, operation=operation, caller=caller,
                                 region=region or self.config.region, source_ip=source_ip,
                                 user_agent=user_agent)
        self._record_failure(context, error)

    def record_refusals(self, groups: list[RefusalGroup]) -> None:
        """Audit groups of refusals made before authentication, one record per group (see
        `ledger.refusals`): the record of the group's first refusal plus its count and times."""
        records = []
        for group in groups:
            key = group.key
            caller = Caller.unauthenticated(key.access_key_id, self.config.account_id)
            context = RequestContext(
                request_id=group.request_id, operation=key.operation, caller=caller,
                region=group.region or self.config.region, source_ip=key.source_ip,
                user_agent=group.user_agent).as_event_field()
            context["refusals"] = {
                "count": group.count, "throttled": group.throttled,
                "first": group.first.isoformat(), "last": group.last.isoformat(),
                "interval_seconds": group.interval_seconds}
            records.append(ApiCall.record(
                context=context, now=group.first, resources=[],
                read_only=key.operation in READ_ONLY_OPERATIONS, error_code=key.error_code,
                error_message=group.message))
        if records:
            self.save_records(records)

    def _run(self, handler: Callable[[Call], Outcome], request: dict[str, Any],
             context: RequestContext, owning_service: str | None) -> dict[str, Any]:
        for attempt in range(MAX_ATTEMPTS):
            call = Call(self, request, context, self.now(), owning_service, attempt)
            try:
                call.grant = self.authorizer.check(call)
                outcome = handler(call)
            except LedgerError:
                if not call.used_stale_state:
                    raise
                continue  # the remembered copy may be behind: decide again on fresh state
            try:
                self._commit(call, outcome)
                return outcome.response
            except IntegrityError:
                time.sleep(self.rng.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise InternalServiceError("The request could not be completed because of contention; "
                                   "retry it.")

    def _commit(self, call: Call, outcome: Outcome) -> None:
        read_only = call.context.operation in READ_ONLY_OPERATIONS
        records = [ApiCall.record(context=call.event_context, now=call.now, read_only=read_only,
                                  resources=outcome.resources, response=outcome.audit_response)]
        for arn in outcome.reads:  # BatchGetSecretValue: one GetSecretValue record per secret
            records.append(ApiCall.record(context={**call.event_context,
                                                   "operation": "GetSecretValue"},
                                          now=call.now, read_only=True, resources=[arn]))
        for secret_id, message in outcome.refused_reads:  # ... and one per secret refused
            records.append(ApiCall.record(
                context={**call.event_context, "operation": "GetSecretValue",
                         "parameters": {"SecretId": secret_id}},
                now=call.now, read_only=True, resources=[],
                error_code=AccessDeniedException.code, error_message=message))
        changes = outcome.key_changes
        self.secret_keys.seal_data_keys(changes)
        for aggregate in outcome.aggregates:
            _collect_shredding(aggregate, changes)
            records += _cleanup_records(aggregate, call.now)
        self._store([*outcome.aggregates, *records], changes)
        self.secret_keys.remember_committed(changes)
        self.integrity.write_digest_if_due()
        for aggregate in outcome.aggregates:
            if isinstance(aggregate, Secret) and self.repository.cache is not None:
                self.repository.cache.put(aggregate.id, aggregate)  # the next write starts here

    def _record_failure(self, context: RequestContext, error: LedgerError) -> None:
        record = ApiCall.record(context=context.as_event_field(), now=self.now(),
                                read_only=context.operation in READ_ONLY_OPERATIONS,
                                resources=[], error_code=error.code, error_message=error.message)
        self.save_records([record])

    def save_records(self, records: list[ApiCall]) -> None:
        """Store new audit records durably, sharing a commit with concurrent calls."""
        self._store(records, None)

    def _store(self, aggregates: list[Any], key_changes: KeyStoreChanges | None) -> None:
        """One call's save: its events, audit records and key-store changes in one transaction,
        shared with concurrent calls' saves when the store is durable (see
        `ledger.group_commit`). Raises IntegrityError when another writer got there first."""
        if self.group_commit is None:
            self.save(*aggregates, key_changes=key_changes or None)
            return
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        self.group_commit.insert([self.mapper.to_stored_event(event) for event in events],
                                 key_changes)

    def close(self) -> None:
        """Stop the read models' background work, then close the store's connections."""
        read_models = getattr(self, "read_models", None)  # absent if __init__ failed early
        if read_models is not None:
            read_models.close()
        super().close()

    def write_digest(self) -> Digest:
        """Sign a digest over the log since the last one (also written every digest_interval)."""
        return self.integrity.write_digest()

    # ---- helpers the handlers use ---------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def new_id(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def new_token(self) -> str:
        return str(self.new_id())

    def fingerprint(self, secret: Secret, value: Plaintext, changes: KeyStoreChanges) -> str:
        """A new version's fingerprint, keyed by its secret's own record (made if need be)."""
        key = self.secret_keys.for_write(secret.id.hex, changes, secret.versions)
        return secret_keys.fingerprint(key, value.value_type, value.data)

    def same_value(self, secret: Secret, version_id: str, value: Plaintext) -> bool:
        """Whether `value` is that version's value, compared by a fingerprint made the way the
        version's was: with the secret's record, or for versions from before per-secret keys
        with the global key, or, once that key is retired, by opening the version."""
        sealed = secret.versions[version_id].sealed
        if secret_keys.is_per_secret(sealed.fingerprint):
            key = self.secret_keys.find(secret.id.hex)
            found = key and secret_keys.fingerprint(key, value.value_type, value.data)
        elif (legacy := self.kms.global_fingerprint_key()) is not None:
            found = envelope.fingerprint(legacy, value.value_type, value.data)
        else:
            stored = values.unseal(self.kms, self.data_key(secret.id.hex, version_id),
                                   secret.arn, version_id, sealed)
            return stored.value_type == value.value_type and \
                hmac.compare_digest(stored.data, value.data)
        return found == sealed.fingerprint

    def data_key(self, secret_hex: str, version_id: str) -> DataKey | None:
        """A version's data key as its KMS key wrapped it, or None once destroyed."""
        row = self.key_store.data_key(secret_hex, version_id)
        return None if row is None else self.secret_keys.open_data_key(secret_hex, version_id, row)

    def name_index(self, name: str, for_update: bool = False) -> SecretName | None:
        """The index entry of a name; a private copy only when the caller will change it."""
        try:
            return load(self.repository, SecretName.id_for(name), for_update=for_update)
        except AggregateNotFoundError:
            return None

    def find_secret(self, secret_id: str, missing_ok: bool = False,
                    stale_ok: bool = False) -> Secret | None:
        """Resolve a name, full ARN or partial ARN to a live secret.

        `stale_ok` lets a write start from this process's last copy without reading the store:
        if the copy is behind, the save conflicts on the aggregate's version and the write is
        decided again on fresh state, so staleness costs a retry, never correctness.
        """
        ref = parse_secret_id(secret_id)
        for name in ref.candidate_names:
            secret = self._live_secret_named(name, stale_ok)
            if secret is not None and ref.accepts(secret.name, secret.arn):
                return secret
        if missing_ok:
            return None
        raise ResourceNotFoundException(SECRET_NOT_FOUND)

    def _live_secret_named(self, name: str, stale_ok: bool = False) -> Secret | None:
        """A live secret holds its name until its SecretDeleted event, so a remembered
        name -> id stays right for as long as that secret, read fresh, is not deleted."""
        remembered = self._secret_ids.get(name)
        if remembered is not None:
            secret: Secret = (self._remembered_copy(remembered) if stale_ok else None) or \
                load(self.repository, remembered)
            if not secret.deleted:
                return secret
            self._secret_ids.pop(name, None)
        index = self.name_index(name)
        if index is None or index.secret_id is None:
            return None
        if len(self._secret_ids) >= 10_000:
            self._secret_ids.clear()
        self._secret_ids[name] = index.secret_id
        return load(self.repository, index.secret_id)

    def _remembered_copy(self, secret_id: UUID) -> Secret | None:
        if self.repository.cache is None:
            return None
        try:
            return copy.deepcopy(self.repository.cache.get(secret_id))
        except KeyError:
            return None

    def all_secrets(self) -> list[Secret]:
        """Every secret not finally deleted (read from the log until the projection serves it)."""
        topic = get_topic(SecretCreated)
        secrets, start = [], 0
        while True:
            notes = self.recorder.select_notifications(start=start, limit=1000, topics=[topic],
                                                       inclusive_of_start=False)
            if not notes:
                break
            for note in notes:
                secret: Secret = load(self.repository, note.originator_id)
                if not secret.deleted:
                    secrets.append(secret)
            start = notes[-1].id
        return secrets

    def finish_deletion(self, secret: Secret, now: datetime, context: dict[str, Any]) -> SecretName:
        """Final deletion: the secret ends, its name is freed (its keys go with the save)."""
        secret.delete_now(now, context)
        index = self.name_index(secret.name, for_update=True)
        assert index is not None
        index.release(now, context)
        return index

    def purge_expired(self) -> list[str]:
        """End every recovery window and key pending window that has passed; returns the ARNs
        of the secrets and keys deleted. Each deletion is a service event in the audit trail."""
        now, purged = self.now(), []
        self.finish_erasures()
        for secret in self.all_secrets():
            if secret.deletion is None or secret.deletion.delete_after > now:
                continue
            fields = self._service_context("EndSecretVersionDelete")
            index = self.finish_deletion(secret, now, fields)
            changes = KeyStoreChanges()
            secret_keys.shred(changes, secret.id.hex)
            try:
                self.save(secret, index, _service_record(fields, now, secret.arn),
                          key_changes=changes)
            except IntegrityError:
                continue  # restored or purged concurrently: the next run decides again
            self.secret_keys.remember_committed(changes)
            purged.append(secret.arn)
        for key in self.kms.all_keys():
            if not key.deletion_due(now):
                continue
            fields = self._service_context("DeleteKey")
            try:
                if self.kms.delete_if_due(key.key_id, now, fields,
                                          _service_record(fields, now, key.arn)):
                    purged.append(key.arn)
            except IntegrityError:
                continue  # cancelled or deleted concurrently: the next run decides again
        return purged

    def _record_signing_key_change(self, old: str | None, new: str) -> None:
        """The first digest a new signing key signs is preceded by this event (which it
        covers). A key file replacing the stored key destroys the stored one with it, so a copy
        of the data directory taken from then on holds no key that signed this ledger."""
        custody = load_custody(self.repository)
        if custody is not None and custody.signing_fingerprint == new:
            return  # another process recorded it
        external = self.integrity.signer.external
        shred = [SIGNING_KEY_MATERIAL] if external and self.integrity.signer.stored_key_present() \
            else []
        fields, now = self._service_context("ChangeDigestSigningKey"), self.now()
        try:
            record_custody_change(
                self.save, self.repository, now, fields,
                lambda c: c.signing_changed(old, new, external, now, fields),
                ApiCall.record(context=fields, now=now, read_only=False, resources=[],
                               response={"OldKeyFingerprint": old, "NewKeyFingerprint": new},
                               event_type="AwsServiceEvent"),
                key_changes=KeyStoreChanges(shred_materials=shred) if shred else None)
        except IntegrityError:
            pass  # recorded concurrently

    def _service_context(self, operation: str) -> dict[str, Any]:
        return RequestContext.service(str(uuid.uuid4()), operation, self.config.region,
                                      self.config.account_id).as_event_field()


def _service_record(context: dict[str, Any], now: datetime, resource: str) -> ApiCall:
    return ApiCall.record(context=context, now=now, read_only=False, resources=[resource],
                          event_type="AwsServiceEvent")


def _cleanup_records(aggregate: Any, now: datetime) -> list[ApiCall]:
    """Each version the cleanup rule removed is a service event in the audit trail."""
    return [ApiCall.record(context=event.context, now=now, read_only=False,
                           resources=[aggregate.arn], event_type="AwsServiceEvent")
            for event in getattr(aggregate, "_pending_events", [])
            if isinstance(event, VersionRemoved)]


def _collect_shredding(aggregate: Any, changes: KeyStoreChanges) -> None:
    """Removed versions and deleted secrets lose their data keys in the same transaction."""
    for event in getattr(aggregate, "_pending_events", []):
        if isinstance(event, VersionRemoved):
            changes.shred_versions.append((aggregate.id.hex, event.version_id))
        elif isinstance(event, SecretDeleted):
            secret_keys.shred(changes, aggregate.id.hex)


def public_parameters(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """The request without the members the service model marks sensitive."""
    try:
        hidden = sensitive_members(operation)
    except ValueError:
        hidden = frozenset()
    return {_storable(k): _storable(v) for k, v in request.items()
            if k not in hidden and not isinstance(v, bytes)}


def _storable(value: Any) -> Any:
    """Text UTF-8 cannot encode (lone surrogates) gets '?' in their place, so the record of a
    request refused for holding it can still be written to the log."""
    if isinstance(value, str):
        return value if validation.is_text(value) else value.encode("utf-8", "replace").decode()
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value
