"""No secret value, whole, base64-encoded or as any 8-character piece, in any audit output."""
from __future__ import annotations

import base64
import io
import json

from projections import export, lookup
from projections.point_in_time import Bound, ledger_as_of, secret_as_of


def forbidden(values: list[str], binary_values: list[bytes]) -> set[str]:
    pieces: set[str] = set()
    for raw in [v.encode() for v in values] + binary_values:
        text = raw.decode("latin-1")
        pieces |= {text, base64.b64encode(raw).decode()}
        printable = "".join(ch if ch.isprintable() else "\0" for ch in text)
        pieces |= {printable[i:i + 8] for i in range(len(printable) - 7)} - {
            p for p in pieces if "\0" in p}
    return {p for p in pieces if "\0" not in p}


def assert_clean(text: str, pieces: set[str], where: str) -> None:
    leaked = sorted(p for p in pieces if p in text)
    assert not leaked, f"{where} contains {len(leaked)} value fragment(s)"


def all_outputs(ledger) -> dict[str, str]:
    read_models = ledger.read_models
    outputs = {}
    for fmt in export.FORMATS:
        out = io.StringIO()
        read_models.read_audit(lambda c: export.write(c, out, fmt))
        outputs[f"export {fmt}"] = out.getvalue()
    pages, token = [], None
    while True:
        page = read_models.read_audit(
            lambda c: lookup.lookup(c, lookup.parse_query(None, None, None), 50, token))
        pages.append(page)
        token = page.get("NextToken")
        if token is None:
            break
    outputs["lookup"] = json.dumps(pages)
    end = ledger.recorder.max_notification_id()
    outputs["inspect"] = json.dumps([secret_as_of(ledger, s.name, Bound(position=end))
                                     for s in ledger.all_secrets()])
    outputs["inspect ledger"] = json.dumps(ledger_as_of(ledger, Bound(position=end)))
    rows = []
    with read_models.store.reading() as cursor:
        for view in read_models.views:
            for table in view.tables:
                cursor.execute(f"SELECT * FROM {table}")
                rows += [repr(tuple(r)) for r in cursor.fetchall()]
    outputs["view tables"] = "\n".join(rows)
    return outputs


def test_forbidden_pieces_catch_a_leak():
    pieces = forbidden(["correct-horse-battery"], [b"\x01raw-bytes-here"])
    for leak in ("x correct-horse-battery y", "horse-ba", base64.b64encode(b"correct-horse-"
                                                                            b"battery").decode(),
                 "raw-byte"):
        assert any(p in leak for p in pieces), leak


def test_no_value_in_records_exports_lookups_inspections_or_views(history_ledger):
    ledger, history = history_ledger
    pieces = forbidden(history.values, history.binary_values)
    outputs = all_outputs(ledger)
    assert outputs["export jsonl"].count("\n") > 40
    for where, text in outputs.items():
        assert_clean(text, pieces, where)


def test_no_value_in_the_ledger_file_after_views_are_built(tmp_path, clock, caller):
    from tests.projections.conftest import make_ledger, scripted_history
    ledger = make_ledger(tmp_path / "data", clock)
    history = scripted_history(ledger, clock, caller)
    ledger.read_models.refresh_all()
    pieces = forbidden(history.values, history.binary_values)
    for path in (tmp_path / "data").rglob("*"):
        if path.is_dir():
            continue
        assert_clean(path.read_bytes().decode("latin-1"), pieces, path.name)
