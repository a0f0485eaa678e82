"""The hash chain and digests beside a PostgreSQL log (the SQL is `SqlIntegrityStore`'s)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.integrity.store import Dialect, SqlIntegrityStore, Transaction


class PgDialect(Dialect):
    """Events keep uuid originator ids; the chain hashes their 32-hex-digit text."""

    def __init__(self, events_table: str) -> None:
        super().__init__(events=events_table, pos="notification_id",
                         eoid="replace(e.originator_id::text, '-', '')",
                         hoid="h.originator_id::uuid", cast_blob=False)

    def originator_param(self, originator_id: str) -> Any:
        return UUID(originator_id)


class PostgresIntegrityStore(SqlIntegrityStore):
    """The hash chain and digests beside a PostgreSQL log. Positions have gaps where inserts
    failed, so a missing position is no evidence of a deleted event here; deletions show as
    digest mismatches or as hashes whose event is gone."""

    contiguous_positions = False

    def __init__(self, transaction: Transaction, events_table: str) -> None:
        super().__init__(transaction, PgDialect(events_table))
