"""Running the CLI as the owner and as an attacker holding a copy of the data directory."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`secrets-ledger ARGV` in a process of its own, as an operator or attacker runs it."""
    import os
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("LEDGER_") and not k.startswith("POSTGRES_")}
    environment.update({"PYTHONPATH": str(REPO), "LEDGER_DIGEST_INTERVAL": "0", **(env or {})})
    return subprocess.run([sys.executable, "-m", "tools.cli", *argv], capture_output=True,
                          text=True, env=environment, cwd=REPO, timeout=120)


def ok(*argv: str, env: dict[str, str] | None = None) -> str:
    done = cli(*argv, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def steal(data_dir: Path, where: Path) -> Path:
    """A copy of every file in the data directory, as a backup or a thief would take it."""
    shutil.copytree(data_dir, where)
    return where


def every_file(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def materials(db: Path) -> dict[str, bytes]:
    """Every sealed key material: the key_materials rows and the key record files (keys/)."""
    with closing(sqlite3.connect(db)) as connection:
        found = {name: bytes(wrapped) for name, wrapped in
                 connection.execute("SELECT name, wrapped FROM key_materials")}
    for path in sorted((db.parent / "keys").glob("*.key")):
        kind, rest = path.name[:-len(".key")].split(".", 1)
        found[f"{kind}:{rest}"] = path.read_bytes()
    return found
