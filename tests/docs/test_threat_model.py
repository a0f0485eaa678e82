"""The README's threat model names, for every claim that an attacker cannot do something, the
test that performs the attack; those tests must exist, or the claim is unbacked."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.search(r"\n## Threat model\n(.*?)\n## ", (ROOT / "README.md").read_text(),
                    flags=re.S)


def _claims() -> list[str]:
    """Each bullet of the section, joined across its wrapped lines."""
    assert SECTION, "the README has a '## Threat model' section"
    return [" ".join(bullet.split()) for bullet in re.split(r"\n- ", SECTION.group(1))[1:]]


def _references(claim: str) -> list[tuple[str, str | None]]:
    """(file, test name or None) for each `tests/...py[::name]` and `::name` in a claim; a bare
    `::name` belongs to the file named before it."""
    found, current = [], None
    for path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?[^`]*`", claim):
        current = path or current
        if path or name:
            found.append((current, name or None))
    return found


def _defined(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def test_every_cannot_claim_names_a_test():
    unbacked = [c[:80] for c in _claims()
                if c.startswith("Cannot") and not _references(c)]
    assert unbacked == []


def test_every_test_the_threat_model_names_exists():
    missing = []
    for claim in _claims():
        for path, name in _references(claim):
            if path is None or not (ROOT / path).is_file():
                missing.append(f"{path}::{name}")
            elif name is not None and name not in _defined(path):
                missing.append(f"{path}::{name}")
    assert missing == []


def test_the_reference_reader_sees_a_missing_test():
    assert _references("x (`tests/docs/test_threat_model.py::no_such_test`)") == [
        ("tests/docs/test_threat_model.py", "no_such_test")]
    assert "no_such_test" not in _defined("tests/docs/test_threat_model.py")
