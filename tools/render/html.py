"""Self-contained HTML pages: a secret's history and a period's audit report.

One file each, with inline CSS and inline SVG: no script, no font, no image, no link to fetch,
so the page opens the same offline, from an e-mail attachment or an evidence archive. A
Content-Security-Policy of `default-src 'none'` makes the browser refuse any fetch even if a
future change slipped one in. Hover help is SVG `<title>`, which needs no script.

Every recorded string goes through `safe.h` (control characters made visible, then HTML
escaping), in text and in attributes alike.
"""
from __future__ import annotations

from projections.history import STANDARD_LABELS, Timeline
from projections.integrity_status import INVALID, VALID, IntegrityStatus
from projections.period_report import PeriodReport
from tools.render import layout, svg
from tools.render.layout import Bars, Fields, Table
from tools.render.safe import h

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #1d2330; background: #fbfbfd; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 17px; margin: 26px 0 8px; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.fields dt { font-weight: 600; color: #4a5368; } dl.fields dd { margin: 0;
       overflow-wrap: anywhere; }
.integrity { padding: 10px 14px; border-radius: 6px; margin: 14px 0; font-weight: 600; }
.integrity.valid { background: #e3f4e8; border: 1px solid #2e9d4f; }
.integrity.invalid { background: #fde2e2; border: 1px solid #d62828; }
.integrity.unavailable { background: #fff4de; border: 1px solid #e08a1e; }
.integrity pre { font-weight: normal; font-size: 12px; white-space: pre-wrap; }
.scroll { overflow-x: auto; border: 1px solid #d9dce6; border-radius: 6px; background: #fff; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; background: #fff; }
table.data th, table.data td { border-bottom: 1px solid #e6e8ef; padding: 4px 8px;
       text-align: left; vertical-align: top; overflow-wrap: break-word; }
table.data th { background: #f0f2f7; } table.data td.time { white-space: nowrap; }
tr.denied td, tr.deleted td, tr.deletion td { color: #a11313; }
tr.failed td { color: #9a5b00; } tr.shredded td { color: #777; text-decoration: line-through; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 10px 0; font-size: 13px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { background: #fff; border: 1px solid #d9dce6; border-radius: 6px; padding: 8px 14px; }
.card b { display: block; font-size: 20px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
svg text { font: 11px system-ui, sans-serif; fill: #1d2330; }
svg .lane-name { font: 12px ui-monospace, monospace; }
svg .lane-bg { fill: #fff; stroke: #eceef4; }
svg .lane-line { stroke: #8a93a8; stroke-width: 2; }
svg .lane-line.shredded { stroke: #bbb; stroke-dasharray: 4 3; }
svg .grid { stroke: #f0f1f5; } svg .tick { fill: #6b7388; }
svg .move { stroke-width: 2; stroke-dasharray: 2 2; }
svg .bar { fill: #3a73c9; } svg .chart-title { font-weight: 600; font-size: 13px; }
footer { margin-top: 30px; color: #6b7388; font-size: 12px; }
"""
TIME_COLUMNS = {"When", "Created", "First", "Last"}
MAX_ROWS = 2000  # longer tables are cut, with a note; the terminal output has every row


def page(title: str, body: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{h(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        *body, "</body>", "</html>", ""])


def integrity_box(status: IntegrityStatus | None) -> str:
    if status is None:
        return '<div class="integrity unavailable" id="integrity">integrity not checked</div>'
    state = status.state
    css = "valid" if state == VALID else "invalid" if state == INVALID else "unavailable"
    lines = "\n".join(status.lines)
    details = (f"<details><summary>verify report</summary><pre>{h(lines)}</pre></details>"
               if lines else "")
    return (f'<div class="integrity {css}" id="integrity" data-state="{h(state)}">'
            f'{h(status.summary)}{details}</div>')


def fields(block: Fields) -> str:
    rows = "".join(f"<dt>{h(name)}</dt><dd>{h(value)}</dd>" for name, value in block.pairs
                   if name != "Integrity")
    return f'<dl class="fields">{rows}</dl>'


def table(block: Table, css: str) -> str:
    head = "".join(f"<th>{h(name)}</th>" for name in block.headers)
    times = [name in TIME_COLUMNS for name in block.headers]
    rows = []
    for i, row in enumerate(block.rows[:MAX_ROWS]):
        kind = block.kinds[i] if i < len(block.kinds) else ""
        cells = "".join(f'<td class="time">{h(cell)}</td>' if timed else f"<td>{h(cell)}</td>"
                        for cell, timed in zip(row, times))
        rows.append(f'<tr class="{h(kind)}">{cells}</tr>')
    if not block.rows:
        rows.append(f'<tr><td colspan="{len(block.headers)}">{h(block.empty)}</td></tr>')
    note = (f"<p>{len(block.rows) - MAX_ROWS} more rows not shown.</p>"
            if len(block.rows) > MAX_ROWS else "")
    return (f"<h2>{h(block.title)}</h2>"
            f'<div class="scroll"><table class="data {css}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>{note}")


# ---- a secret's history -----------------------------------------------------------------------

def history_page(t: Timeline) -> str:
    summary = layout.history_summary(t)
    legend = _legend(t)
    body = [f"<h1>{h(summary.title)}</h1>", fields(summary), integrity_box(t.integrity),
            "<h2>Swimlanes</h2>",
            "<p>One lane per version, time left to right (one step per request). Labels are "
            "bands in the lane of the version holding them; hover a band or marker for who, "
            "when and the request id.</p>",
            legend, f'<div class="scroll">{svg.swimlanes(t)}</div>',
            table(layout.version_table(t), "versions"),
            table(layout.timeline_table(t), "timeline"),
            "<footer>Built from the ledger's event log and audit trail. No secret value is "
            "read to build this page.</footer>"]
    return page(f"History of {t.name}", body)


def _legend(t: Timeline) -> str:
    custom = [label for label in t.label_names() if label not in STANDARD_LABELS]
    items = [f"<span>{svg.band_swatch(label, custom)}{h(label)}</span>"
             for label in t.label_names()]
    items += [f"<span>{svg.legend_swatch(kind)}{h(text)}</span>"
              for kind, (_, _, text) in svg.MARKER_KINDS.items()]
    return f'<div class="legend" id="legend">{"".join(items)}</div>'


# ---- a period's report ------------------------------------------------------------------------

def report_page(r: PeriodReport) -> str:
    blocks = layout.report_blocks(r)
    summary = blocks[0]
    assert isinstance(summary, Fields)
    cards = [("Calls", r.calls), ("Service events", r.service_events),
             ("Failed", len(r.failed)), ("Denied", len(r.denied)),
             ("Secrets changed", len(r.secrets_changed)), ("Key changes", len(r.keys_changed)),
             ("Sensitive reads", len(r.sensitive_reads))]
    body = [f"<h1>{h(summary.title)}</h1>", fields(summary), integrity_box(r.integrity),
            '<div class="cards">' + "".join(f'<div class="card"><b>{n}</b>{h(name)}</div>'
                                            for name, n in cards) + "</div>",
            '<div class="charts">']
    body += [svg.bar_chart(b.title, b.counts) for b in blocks if isinstance(b, Bars)]
    body.append("</div>")
    body += [table(b, "calls") for b in blocks if isinstance(b, Table)]
    body.append("<footer>Built from the ledger's audit trail and event log. No secret value is "
                "read to build this page.</footer>")
    return page("Audit report", body)
