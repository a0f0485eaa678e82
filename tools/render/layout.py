"""What a history or a report shows, as neutral blocks every renderer draws the same way.

Fields (name: value pairs), tables (headers, rows, a kind per row for colour) and bars (counts).
The terminal prints them as text or rich tables; the HTML page turns them into HTML tables
beside its charts. Keeping the content here means the terminal and the page never disagree.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from projections.history import DEFAULT_KEY, Timeline, short_principal
from projections.period_report import CallRow, PeriodReport


@dataclass
class Fields:
    title: str
    pairs: list[tuple[str, str]]


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    kinds: list[str] = field(default_factory=list)  # one per row, for styling; may be empty
    empty: str = "none"


@dataclass
class Bars:
    title: str
    counts: list[tuple[str, int]]


Block = Fields | Table | Bars


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- a secret's history -----------------------------------------------------------------------

def history_summary(t: Timeline) -> Fields:
    labels = ", ".join(f"{label}={version}" for label, version in t.labels.items()) or "none"
    tags = ", ".join(f"{k}={v}" for k, v in t.tags.items()) or "none"
    pairs = [("ARN", t.arn), ("Secret ID", t.secret_id), ("Created", iso(t.created_at)),
             ("As of", iso(t.as_of) if t.as_of else "now"), ("Status", t.status),
             ("Key", t.kms_key_id or DEFAULT_KEY), ("Labels", labels),
             ("Description", t.description if t.description is not None else "none"),
             ("Tags", tags)]
    if t.integrity is not None:
        pairs.append(("Integrity", t.integrity.summary))
    return Fields(f"History of {t.name}", pairs)


def version_table(t: Timeline) -> Table:
    rows, kinds = [], []
    for lane in t.lanes:
        labels = ", ".join(label for label, version in t.labels.items()
                           if version == lane.version_id and lane.ended_step is None)
        if lane.shredded:
            state = f"shredded ({lane.end_reason})" if lane.end_reason else "shredded"
        else:
            state = lane.end_reason or "live"
        keys = " -> ".join(lane.keys)
        rows.append([lane.version_id, iso(lane.created_at), short_principal(lane.created_by),
                     keys, labels or "-", str(lane.reads), state])
        kinds.append("shredded" if lane.shredded else "version")
    return Table(f"Versions ({len(t.lanes)})",
                 ["Version", "Created", "By", "Key", "Labels", "Reads", "State"], rows, kinds)


def timeline_table(t: Timeline) -> Table:
    rows = [[iso(e.at), e.kind, short_principal(e.who), e.detail, e.request_id or ""]
            for e in t.entries]
    return Table(f"Timeline ({len(t.entries)} entries)",
                 ["When", "What", "Who", "Detail", "Request"], rows,
                 [e.kind for e in t.entries])


def history_blocks(t: Timeline) -> list[Block]:
    return [history_summary(t), version_table(t), timeline_table(t)]


# ---- a period's report ----------------------------------------------------------------------

def report_summary(r: PeriodReport) -> Fields:
    period = f"{iso(r.start) or 'the beginning'} to {iso(r.end) or 'now'}"
    pairs = [("Period", period), ("Calls", str(r.calls)),
             ("Service events", str(r.service_events)), ("Failed calls", str(len(r.failed))),
             ("Denied calls", str(len(r.denied))),
             ("Secrets changed", str(len(r.secrets_changed))),
             ("Key changes", str(len(r.keys_changed))),
             ("Sensitive secrets", ", ".join(r.sensitive_secrets) or "none"),
             ("Sensitive rules", ", ".join(r.rules)),
             ("Reads of sensitive secrets", str(len(r.sensitive_reads)))]
    if r.integrity is not None:
        pairs.append(("Integrity", r.integrity.summary))
    return Fields("Audit report", pairs)


def _ranked(counts: Counter, shorten: bool = False) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(short_principal(k) if shorten else k, n) for k, n in ranked]


def call_table(title: str, rows_in: list[CallRow], kind: str, with_error: bool) -> Table:
    headers = ["When", "Who", "Operation", "Secret"]
    headers += ["Error", "Message"] if with_error else ["Version"]
    headers += ["Request", "Source IP"]
    rows = []
    for row in rows_in:
        cells = [row.at, short_principal(row.who), row.operation, row.secret]
        cells += [row.error_code or "", row.error_message or ""] if with_error \
            else [row.version or "AWSCURRENT"]
        rows.append(cells + [row.request_id, row.source_ip])
    return Table(f"{title} ({len(rows)})", headers, rows, [kind] * len(rows))


def report_blocks(r: PeriodReport) -> list[Block]:
    changed = Table(f"Secrets changed ({len(r.secrets_changed)})",
                    ["Secret", "Changes", "Operations", "By", "First", "Last"],
                    [[c.name, str(c.count),
                      ", ".join(f"{op} x{n}" for op, n in _ranked(c.operations)),
                      ", ".join(sorted(short_principal(p) for p in c.principals)),
                      c.first_at, c.last_at] for c in r.secrets_changed])
    keys = Table(f"Key changes ({len(r.keys_changed)})",
                 ["When", "Subject", "Change", "Who", "Request"],
                 [[k.at, k.subject, k.change, short_principal(k.who), k.request_id]
                  for k in r.keys_changed], ["key"] * len(r.keys_changed))
    return [report_summary(r),
            Bars("Calls per operation", _ranked(r.by_operation)),
            Bars("Calls per principal", _ranked(r.by_principal, shorten=True)),
            Bars("Errors by code", _ranked(r.errors_by_code)),
            call_table("Denied calls", r.denied, "denied", True),
            call_table("Failed calls", r.failed, "failed", True),
            changed, keys,
            call_table("Reads of sensitive secrets", r.sensitive_reads, "read", False)]
