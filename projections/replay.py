"""Audit replay: rebuild every read model from position 0 in fresh storage, compare with live.

Two views of the same log prefix must hold the same rows. The live view's digest is taken in
one read transaction together with its position, and the fresh view is replayed to exactly that
position, so writes arriving meanwhile cannot make equal views look different.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.audit_trail import AuditTrailView
from projections.current_state import CurrentStateView
from projections.runner import BULK_BATCH, Progress, View, catch_up_views
from projections.store import open_store

if TYPE_CHECKING:
    from ledger.application import SecretsLedger


@dataclass
class ViewComparison:
    view: str
    position: int
    live_digest: str
    rebuilt_digest: str

    @property
    def equal(self) -> bool:
        return self.live_digest == self.rebuilt_digest


@dataclass
class ReplayReport:
    events: int = 0
    views: list[ViewComparison] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return bool(self.views) and all(v.equal for v in self.views)

    def as_json(self) -> dict[str, Any]:
        return {"equal": self.equal, "eventsReplayed": self.events,
                "views": [{"view": v.view, "position": v.position, "equal": v.equal,
                           "liveDigest": v.live_digest, "rebuiltDigest": v.rebuilt_digest}
                          for v in self.views]}


def fresh_views(account_id: str) -> tuple[View, ...]:
    return CurrentStateView(), AuditTrailView(account_id)


def replay(ledger: SecretsLedger, into: Path | None = None,
           progress: Progress | None = None) -> ReplayReport:
    """Rebuild each view of `ledger` from 0 into `into` (a new SQLite file; memory if None)."""
    if into is not None and into.exists():
        raise FileExistsError(f"{into} exists; audit replay needs fresh storage")
    live = ledger.read_models
    views = fresh_views(ledger.config.account_id)
    store = open_store(into, [s for v in views for s in v.ddl])
    report = ReplayReport()
    try:
        live.refresh_all()
        taken = {view.name: live.store.digest(view.name, view.tables) for view in live.views}
        # Each fresh view stops exactly where its live twin's digest was taken; usually all
        # views are at one position, so this is a single pass over the log.
        for position in sorted({p for p, _ in taken.values()}):
            behind = [v for v in views if taken[v.name][0] >= position]
            report.events += catch_up_views(ledger.recorder, ledger.mapper, behind, store,
                                            stop=position, progress=progress,
                                            batch=BULK_BATCH)
        for view in views:
            position, live_digest = taken[view.name]
            _, rebuilt_digest = store.digest(view.name, view.tables)
            report.views.append(ViewComparison(view.name, position, live_digest, rebuilt_digest))
    finally:
        store.close()
    return report
