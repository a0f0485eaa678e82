"""The README's commands and examples are true: its Python runs, and CI runs its test command."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_exactly_two_commands_serve_and_test():
    first_lines = README.split("## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", first_lines, flags=re.S)
    assert len(commands) == 2
    assert "secrets-ledger serve" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _blocks("bash")[1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert test_command in ci_lines


def test_embedding_example_runs(capsys):
    (example,) = _blocks("python")
    exec(compile(example, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "ResourceExistsException"
