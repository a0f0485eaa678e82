"""Inline SVG: a secret's swimlanes and small bar charts. Strings in, strings out.

Swimlanes: one lane per version (plus a "secret" lane on top for facts about the secret as a
whole), time running left to right in steps (one per request, so bursts stay readable and
long quiet spells take no room). A label is a coloured band inside the lane of the version
holding it, and a move is a connector from the old version's band to the new one's. Markers
sit on a lane at their step: reads, denials, failures, key changes, re-encryptions and the
secret's own changes. Every band and marker has a `<title>` (who, when, request id), which
browsers show on hover without any script.

No `xmlns` and no external reference: the SVG is meant to be inlined in an HTML page.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from projections import history as H
from projections.history import Entry, Span, Timeline
from tools.render.layout import iso
from tools.render.safe import h

STEP = 34  # the narrowest step
STEP_MAX = 90
FIT_WIDTH = 1000  # short histories widen their steps to about this
LEFT = 200
TOP = 96
SECRET_LANE = 34
BAND = 8
BAND_GAP = 3
MARKER = 5

LABEL_COLOURS = {"AWSCURRENT": "#2e9d4f", "AWSPREVIOUS": "#3a73c9", "AWSPENDING": "#e08a1e"}
CUSTOM_COLOURS = ("#8e44ad", "#16a0a0", "#c0397a", "#7a6a2f", "#5a5a9c")
MARKER_KINDS = {  # kind -> (shape, colour, legend text)
    H.CREATED: ("square", "#2e9d4f", "secret created"),
    H.VERSION: ("square", "#444", "version created"),
    H.READ: ("circle", "#3a73c9", "read"),
    H.DENIED: ("cross", "#d62828", "denied call"),
    H.FAILED: ("triangle", "#e08a1e", "failed call"),
    H.KEY: ("diamond", "#8e44ad", "key changed"),
    H.REENCRYPTED: ("diamond", "#c77dff", "version re-encrypted"),
    H.DESCRIPTION: ("square", "#5a7fa8", "description changed"),
    H.TAGS: ("square", "#16a0a0", "tags changed"),
    H.DELETION: ("triangle", "#d62828", "deletion scheduled"),
    H.RESTORED: ("circle", "#2e9d4f", "restored"),
    H.DELETED: ("cross", "#000", "secret deleted"),
    H.REMOVED: ("cross", "#7a6a2f", "version removed, data key destroyed"),
}
SECRET_LEVEL = {H.CREATED, H.KEY, H.DESCRIPTION, H.TAGS, H.DELETION, H.RESTORED, H.DELETED}


def label_colour(label: str, custom: Sequence[str]) -> str:
    if label in LABEL_COLOURS:
        return LABEL_COLOURS[label]
    return CUSTOM_COLOURS[list(custom).index(label) % len(CUSTOM_COLOURS)]


def marker_shape(shape: str, x: float, y: float, colour: str, css: str, title: str,
                 size: float = MARKER) -> str:
    """One marker; `title` is already escaped."""
    s = size
    if shape == "circle":
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}"'
    elif shape == "square":
        body = f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}"'
    elif shape == "diamond":
        body = (f'<polygon points="{x:.1f},{y - s - 1:.1f} {x + s + 1:.1f},{y:.1f} '
                f'{x:.1f},{y + s + 1:.1f} {x - s - 1:.1f},{y:.1f}"')
    elif shape == "triangle":
        body = (f'<polygon points="{x:.1f},{y - s - 1:.1f} {x + s + 1:.1f},{y + s:.1f} '
                f'{x - s - 1:.1f},{y + s:.1f}"')
    else:  # cross
        body = (f'<path d="M{x - s:.1f},{y - s:.1f} L{x + s:.1f},{y + s:.1f} '
                f'M{x + s:.1f},{y - s:.1f} L{x - s:.1f},{y + s:.1f}" stroke-width="3"')
    paint = f'stroke="{colour}" fill="none"' if shape == "cross" else f'fill="{colour}"'
    return f'{body} class="{css}" {paint}><title>{title}</title></{_tag(body)}>'


def _tag(body: str) -> str:
    return body[1:body.index(" ")]


def _entry_title(e: Entry) -> str:
    lines = [f"{e.kind}: {e.detail}", f"when: {iso(e.at)}", f"who: {e.who or '?'}",
             f"request: {e.request_id or '-'}", f"log position: {e.position}"]
    if e.error_code:
        lines.append(f"error: {e.error_code}")
    if e.source_ip:
        lines.append(f"source: {e.source_ip}")
    return h("\n".join(lines))


def _span_title(span: Span) -> str:
    until = iso(span.end_at) if span.end_at else "now"
    return h(f"{span.label} on version {span.version_id}\nfrom {iso(span.start_at)} to {until}"
             f"\nmoved by: {span.moved_by or '?'}\nrequest: {span.request_id or '-'}")


class _Geometry:
    def __init__(self, t: Timeline) -> None:
        self.labels = t.label_names()
        self.custom = [label for label in self.labels if label not in LABEL_COLOURS]
        self.lane_height = 22 + (BAND + BAND_GAP) * max(1, len(self.labels))
        self.steps = max(1, t.steps)
        self.step = min(STEP_MAX, max(STEP, FIT_WIDTH // self.steps))  # few steps: wider
        self.width = LEFT + self.step * (self.steps + 1) + 20
        self.lane_top = {lane.version_id: TOP + SECRET_LANE + i * self.lane_height
                         for i, lane in enumerate(t.lanes)}
        self.height = TOP + SECRET_LANE + self.lane_height * len(t.lanes) + 16

    def x(self, step: float) -> float:
        return LEFT + self.step * step + self.step / 2

    def end_x(self) -> float:
        return self.x(self.steps - 0.5)

    def baseline(self, version_id: str | None) -> float:
        if version_id is None or version_id not in self.lane_top:
            return TOP + SECRET_LANE / 2
        return self.lane_top[version_id] + 10

    def band_y(self, version_id: str, label: str) -> float:
        return self.lane_top[version_id] + 19 + (BAND + BAND_GAP) * self.labels.index(label)


def swimlanes(t: Timeline) -> str:
    """The history as one `<svg>` element."""
    g = _Geometry(t)
    out = [f'<svg class="swimlanes" width="{g.width}" height="{g.height}" '
           f'viewBox="0 0 {g.width} {g.height}" role="img" '
           f'aria-label="{h("Swimlanes of " + t.name)}">']
    out += _axis(t, g)
    out.append('<g class="lane lane-secret">'
               f'<text x="8" y="{g.baseline(None) + 4:.1f}" class="lane-name">secret</text>'
               f'<line x1="{LEFT}" y1="{g.baseline(None):.1f}" x2="{g.end_x():.1f}" '
               f'y2="{g.baseline(None):.1f}" class="lane-line"/></g>')
    for lane in t.lanes:
        out.append(_lane(lane, g))
    out += _bands(t, g)
    out += _markers(t, g)
    out.append("</svg>")
    return "\n".join(out)


def _axis(t: Timeline, g: _Geometry) -> list[str]:
    """A grid line per step; a slanted time label wherever the minute changes (with the date
    wherever the day changes)."""
    out = ['<g class="axis">']
    last_day, last_text = "", ""
    for step, moment in enumerate(t.step_times):
        x = g.x(step)
        stamp = iso(moment)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{g.height - 10}" '
                   f'class="grid"><title>{h(f"step {step}: {stamp}")}</title></line>')
        day, clock = stamp[:10], stamp[11:16]
        text = clock if day == last_day else f"{day} {clock}"
        if text != last_text:
            out.append(f'<text x="{x:.1f}" y="{TOP - 10}" class="tick" '
                       f'transform="rotate(-50 {x:.1f} {TOP - 10})">{h(text)}</text>')
        last_day, last_text = day, clock
    out.append("</g>")
    return out


def _lane(lane: H.Lane, g: _Geometry) -> str:
    top, base = g.lane_top[lane.version_id], g.baseline(lane.version_id)
    start = g.x(lane.created_step)
    end = g.x(lane.ended_step) if lane.ended_step is not None else g.end_x()
    state = "shredded" if lane.shredded else "live"
    title = h(f"version {lane.version_id}\ncreated {iso(lane.created_at)} by "
              f"{lane.created_by or '?'}\nrequest: {lane.request_id or '-'}\n"
              f"key: {' -> '.join(lane.keys)}\nreads: {lane.reads}\n"
              + (f"ended: {iso(lane.ended_at)} ({lane.end_reason})\n" if lane.ended_at else "")
              + ("shredded: the data key is destroyed, the value unrecoverable"
                 if lane.shredded else "data key present"))
    name = lane.version_id[:8] + ("… shredded" if lane.shredded else "…")
    return (f'<g class="lane lane-version {state}" data-version="{h(lane.version_id)}">'
            f'<title>{title}</title>'
            f'<rect x="0" y="{top:.1f}" width="{g.width}" height="{g.lane_height}" '
            f'class="lane-bg"/>'
            f'<text x="8" y="{base + 4:.1f}" class="lane-name">{h(name)}</text>'
            f'<line x1="{start:.1f}" y1="{base:.1f}" x2="{end:.1f}" y2="{base:.1f}" '
            f'class="lane-line {state}"/></g>')


def _bands(t: Timeline, g: _Geometry) -> list[str]:
    out = ['<g class="bands">']
    last_end = g.end_x()
    ended: dict[tuple[str, int], Span] = {}  # (label, end step) -> the span that ended there
    for span in t.spans:
        if span.end_step is not None:
            ended[(span.label, span.end_step)] = span
    for span in t.spans:
        if span.version_id not in g.lane_top:
            continue
        colour = label_colour(span.label, g.custom)
        x1 = g.x(span.start_step)
        x2 = g.x(span.end_step) if span.end_step is not None else last_end
        y = g.band_y(span.version_id, span.label)
        out.append(f'<rect x="{x1:.1f}" y="{y:.1f}" width="{max(2.0, x2 - x1):.1f}" '
                   f'height="{BAND}" rx="2" class="band" data-label="{h(span.label)}" '
                   f'fill="{colour}"><title>{_span_title(span)}</title></rect>')
        before = ended.get((span.label, span.start_step))
        if before is not None and before.version_id in g.lane_top:
            y0 = g.band_y(before.version_id, span.label) + BAND / 2
            out.append(f'<line x1="{x1:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" '
                       f'y2="{y + BAND / 2:.1f}" class="move" stroke="{colour}">'
                       f'<title>{h(f"{span.label} moved {before.version_id} -> {span.version_id}")}'
                       f'</title></line>')
    out.append("</g>")
    return out


def _markers(t: Timeline, g: _Geometry) -> list[str]:
    out = ['<g class="markers">']
    crowd: dict[tuple[str | None, int], int] = defaultdict(int)
    for e in t.entries:
        if e.kind not in MARKER_KINDS:
            continue
        shape, colour, _ = MARKER_KINDS[e.kind]
        lane = None if e.kind in SECRET_LEVEL else e.version_id
        lane = lane if lane in g.lane_top else None
        slot = crowd[(lane, e.step)]
        crowd[(lane, e.step)] += 1
        x = g.x(e.step) + (slot + 1) // 2 * (1 if slot % 2 else -1) * (2 * MARKER + 1)
        out.append(marker_shape(shape, x, g.baseline(lane), colour,
                                f"marker marker-{e.kind}", _entry_title(e)))
    out.append("</g>")
    return out


def legend_swatch(kind: str) -> str:
    """A small SVG showing one marker kind."""
    shape, colour, text = MARKER_KINDS[kind]
    return ('<svg width="16" height="16" viewBox="0 0 16 16" class="swatch">'
            + marker_shape(shape, 8, 8, colour, f"swatch-{kind}", h(text)) + "</svg>")


def band_swatch(label: str, custom: Sequence[str]) -> str:
    return (f'<svg width="26" height="12" viewBox="0 0 26 12" class="swatch">'
            f'<rect x="1" y="2" width="24" height="8" rx="2" '
            f'fill="{label_colour(label, custom)}"/></svg>')


# ---- bar charts -------------------------------------------------------------------------------

def bar_chart(title: str, counts: Sequence[tuple[str, int]], width: int = 520,
              limit: int = 12) -> str:
    """A horizontal bar chart of the first `limit` counts (the rest summed as "others")."""
    shown = list(counts[:limit])
    rest = sum(n for _, n in counts[limit:])
    if rest:
        shown.append((f"{len(counts) - limit} others", rest))
    row, label_w = 20, 190
    height = 28 + row * max(1, len(shown))
    top = max((n for _, n in shown), default=1)
    out = [f'<svg class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{h(title)}">',
           f'<text x="0" y="14" class="chart-title">{h(title)}</text>']
    if not shown:
        out.append('<text x="0" y="38" class="chart-empty">none</text>')
    for i, (name, n) in enumerate(shown):
        y = 24 + i * row
        bar = max(2.0, (width - label_w - 50) * n / top)
        short = name if len(name) <= 28 else name[:27] + "…"
        out.append(f'<g class="bar-row"><title>{h(f"{name}: {n}")}</title>'
                   f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" '
                   f'class="bar-label">{h(short)}</text>'
                   f'<rect x="{label_w}" y="{y + 2}" width="{bar:.1f}" height="{row - 6}" '
                   f'class="bar"/>'
                   f'<text x="{label_w + bar + 4:.1f}" y="{y + 13}" class="bar-value">{n}</text>'
                   f'</g>')
    out.append("</svg>")
    return "\n".join(out)

