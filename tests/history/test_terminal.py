"""The terminal timeline: plain text in pipes and files, rich tables on a terminal."""
from __future__ import annotations

import io
import re

from projections.history_source import load_timeline
from tests.history.conftest import VALUES, at
from tools.render import layout, terminal

ANSI = re.compile(r"\x1b\[")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def plain_history(known, *args) -> str:
    out = io.StringIO()
    terminal.write(layout.history_blocks(load_timeline(known.ledger, "prod/db", *args)), out)
    return out.getvalue()


def section(text: str, title: str) -> list[str]:
    """The lines of one section (from its title to the next blank line), title excluded."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = lines.index("", start)
    return lines[start + 1:end]


def test_plain_output_when_the_stream_is_not_a_terminal(known):
    text = plain_history(known)
    assert not ANSI.search(text)
    assert text.startswith("History of prod/db\n")
    assert "  Integrity    log verified:" in text


def test_versions_in_order_with_time_creator_key_labels_and_state(known):
    rows = section(plain_history(known), "Versions (4)")[1:]  # below the header row
    v1, v2, v3, v4 = known.versions
    assert [row.split()[0] for row in rows] == [v1, v2, v3, v4]
    assert rows[0].split()[1:3] == ["2026-03-17T03:12:00Z", "user/alice"]
    assert rows[1].split()[1:3] == ["2026-03-17T03:30:00Z", "user/bob"]
    assert known.key_arn in rows[0] and " -> " in rows[0]  # re-encrypted to the team key
    assert "BLUE" in rows[0] and "shredded (removed (cleanup))" in rows[1]
    assert "AWSPREVIOUS" in rows[2] and "AWSCURRENT" in rows[3]


def test_timeline_lines_say_when_what_who_and_which_request(known):
    rows = section(plain_history(known), "Timeline (27 entries)")[1:]
    assert len(rows) == 27
    what = [row.split()[1] for row in rows]
    assert what[:3] == ["created", "version", "label"]
    denied = next(row for row in rows if row.split()[1] == "denied")
    assert denied.split()[0] == "2026-03-17T03:56:00Z" and "user/mallory" in denied
    assert denied.rstrip().endswith(known.denied_request)
    read = next(row for row in rows if "req-read-0002" in row)
    assert f"read version {known.versions[1]} by label AWSPREVIOUS" in read
    moves = [row for row in rows if row.split()[1] == "label"]
    assert f"AWSCURRENT moved {known.versions[1]} -> {known.versions[2]}" in moves[4]
    assert any("key aws/secretsmanager -> " + known.key_arn in row for row in rows)
    assert any("re-encrypted" in row for row in rows)
    assert any("tags +team=core" in row for row in rows)
    assert any("deletion scheduled; recoverable until 2026-03-25T06:00:00Z" in row
               for row in rows)
    assert any(row.split()[1] == "restored" for row in rows)


def test_history_at_a_time_prints_only_what_had_happened(known):
    text = plain_history(known, at(17, 3, 35))
    assert "As of        2026-03-17T03:35:00Z" in text
    # created + v1 + AWSCURRENT, bob's read, v2 + AWSCURRENT + AWSPREVIOUS
    assert "Versions (2)" in text and "Timeline (7 entries)" in text


def test_rich_tables_on_a_terminal_with_the_same_content(known):
    out = Tty()
    terminal.write(layout.history_blocks(load_timeline(known.ledger, "prod/db")), out)
    text = out.getvalue()
    assert ANSI.search(text)
    plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", text))
    for version in known.versions:
        assert version[:8] in plain
    assert "mallory" in plain and "Timeline (27 entries)" in plain


def test_plain_can_be_forced_on_a_terminal(known):
    out = Tty()
    terminal.write(layout.history_blocks(load_timeline(known.ledger, "prod/db")), out,
                   rich=False)
    assert not ANSI.search(out.getvalue())


def test_no_value_in_either_output(known):
    timeline = load_timeline(known.ledger, "prod/db")
    plain, rich = io.StringIO(), io.StringIO()
    terminal.write(layout.history_blocks(timeline), plain, rich=False)
    terminal.write(layout.history_blocks(timeline), rich, rich=True)
    for value in VALUES:
        assert value not in plain.getvalue() and value not in rich.getvalue()
