"""The data directory is private: another local user reads nothing of a ledger's files."""
from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.files import NotPrivate
from tests.server.conftest import PROJECT, ServerProcess, make_client
from tests.server.test_lifecycle import root_key_from

OTHER_UID = 65534  # nobody
SENSITIVE = ("ledger.db", "ledger.db-wal", "ledger.db-shm", "root.key", "root-credentials")


@pytest.fixture
def open_parent() -> Iterator[Path]:
    """A directory any user may pass through (unlike pytest's tmp_path, under a 0700
    directory), so only the ledger's own modes stand between another user and its files."""
    parent = Path(tempfile.mkdtemp(prefix="ledger-modes-", dir="/tmp"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent)


def modes(data_dir: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in [data_dir, *data_dir.iterdir()]}


def read_as_other_user(paths: list[Path]) -> list[str]:
    """The paths another OS user manages to read (as `cat` run under its uid)."""
    script = 'for f; do cat "$f" >/dev/null 2>&1 && echo "$f"; done; true'
    done = subprocess.run(["/bin/sh", "-c", script, "sh", *map(str, paths)], user=OTHER_UID,
                          group=OTHER_UID, extra_groups=[], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.split()


def test_a_served_ledger_is_unreadable_to_another_local_user(open_parent):
    if os.geteuid() != 0:
        pytest.skip("acting as another OS user needs root")
    data_dir = open_parent / "data"
    server = ServerProcess(data_dir).start()  # no configured pair: root-credentials is written
    try:
        key_id, secret = root_key_from(server.stdout())
        make_client(server.url, key_id=key_id, secret=secret).create_secret(
            Name="prod/db", SecretString="s3cr3t")
        paths = [data_dir / name for name in SENSITIVE]
        assert all(p.exists() for p in paths), modes(data_dir)  # -wal, -shm: while it runs
        assert read_as_other_user(paths + [data_dir]) == []
        listing = subprocess.run(["ls", str(data_dir)], user=OTHER_UID, group=OTHER_UID,
                                 extra_groups=[], capture_output=True, timeout=60)
        assert listing.returncode != 0 and listing.stdout == b""
    finally:
        server.stop()


def test_an_embedded_ledger_makes_its_directory_0700_and_files_0600_whatever_the_umask(
        open_parent):
    umask = os.umask(0o022)
    try:
        ledger = SecretsLedger(LedgerConfig(data_dir=open_parent / "data"))
        try:
            ledger.write_digest()
            found = modes(open_parent / "data")
        finally:
            ledger.close()
    finally:
        os.umask(umask)
    assert found.pop("data") == 0o700
    assert set(found) >= {"ledger.db", "root.key"}
    assert set(found.values()) == {0o600}, found


def test_loose_modes_are_tightened_on_open_with_one_warning_each(tmp_path):
    data_dir = tmp_path / "data"
    SecretsLedger(LedgerConfig(data_dir=data_dir)).close()
    data_dir.chmod(0o755)
    for path in data_dir.iterdir():
        path.chmod(0o644)
    done = subprocess.run([sys.executable, "-m", "tools.cli", "call", "ListSecrets",
                           "--data-dir", str(data_dir)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert done.returncode == 0, done.stderr
    warnings = done.stderr.strip().splitlines()
    assert f"{data_dir} had mode 0755, open to other users; now 0700" in warnings
    assert f"{data_dir / 'ledger.db'} had mode 0644, open to other users; now 0600" in warnings
    assert f"{data_dir / 'root.key'} had mode 0644, open to other users; now 0600" in warnings
    assert len(warnings) == 3
    found = modes(data_dir)
    assert found.pop("data") == 0o700 and set(found.values()) == {0o600}


def test_tightening_is_logged_as_a_warning(tmp_path, caplog):
    data_dir = tmp_path / "data"
    SecretsLedger(LedgerConfig(data_dir=data_dir)).close()
    (data_dir / "root.key").chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="ledger.files"):
        SecretsLedger(LedgerConfig(data_dir=data_dir)).close()
    assert [r.getMessage() for r in caplog.records] == [
        f"{data_dir / 'root.key'} had mode 0640, open to other users; now 0600"]


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.cli", *argv], cwd=PROJECT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})


def as_other_user(script: str) -> None:
    subprocess.run(["/bin/sh", "-c", "umask 000; " + script], user=OTHER_UID, group=OTHER_UID,
                   extra_groups=[], check=True, timeout=60)


STORE = ("call", "CreateSecret", '{"Name": "prod/db", "SecretString": "hunter2-TOPSECRET"}')


def test_a_data_directory_another_user_planted_is_refused_not_adopted(open_parent):
    """`nobody` makes the directory, a root.key it knows and a ledger.db it owns; the operator
    must not store a secret there (it could loosen the modes again and decrypt a copy)."""
    if os.geteuid() != 0:
        pytest.skip("acting as another OS user needs root")
    open_parent.chmod(0o1777)
    data_dir = open_parent / "data"
    as_other_user(f"mkdir -m 777 {data_dir} && echo {'S' * 43}= > {data_dir}/root.key && "
                  f"chmod 600 {data_dir}/root.key && touch {data_dir}/ledger.db")
    done = run_cli(*STORE, "--data-dir", str(data_dir))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"secrets-ledger call: {data_dir} is owned by uid {OTHER_UID}, not this user (uid 0): "
        "another user could read every secret; use a data directory this user created"]
    assert (data_dir / "ledger.db").stat().st_size == 0
    assert sorted(p.name for p in data_dir.iterdir()) == ["ledger.db", "root.key"]


@pytest.mark.parametrize("name", ["ledger.db", "ledger.db-wal", "root.key", "root-credentials"])
def test_a_ledger_file_another_user_owns_is_refused(open_parent, name):
    if os.geteuid() != 0:
        pytest.skip("acting as another OS user needs root")
    data_dir = open_parent / "data"
    SecretsLedger(LedgerConfig(data_dir=data_dir)).close()
    (data_dir / name).touch()
    os.chown(data_dir / name, OTHER_UID, OTHER_UID)
    done = run_cli(*STORE, "--data-dir", str(data_dir))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"{data_dir / name} is owned by uid {OTHER_UID}, not this user" in done.stderr


@pytest.mark.parametrize("name", ["ledger.db", "root.key", "root-credentials"])
def test_a_symbolic_link_in_the_data_directory_is_refused(tmp_path, name):
    """A link planted where a ledger file belongs would send its secrets (or take its key)
    wherever the link points."""
    data_dir = tmp_path / "data"
    SecretsLedger(LedgerConfig(data_dir=data_dir)).close()
    elsewhere = tmp_path / "elsewhere"
    (data_dir / name).replace(elsewhere) if (data_dir / name).exists() else elsewhere.touch()
    (data_dir / name).symlink_to(elsewhere)
    done = run_cli(*STORE, "--data-dir", str(data_dir))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"secrets-ledger call: {data_dir / name} is a symbolic link; the data directory and "
        "its files must be real ones, owned by this user"]


def test_a_symbolic_link_as_the_data_directory_is_refused(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "data").symlink_to(tmp_path / "real")
    done = run_cli(*STORE, "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2, done.stderr
    assert "is a symbolic link" in done.stderr
    assert list((tmp_path / "real").iterdir()) == []


def test_a_mode_that_cannot_be_tightened_is_refused_when_embedded(tmp_path, monkeypatch):
    """Not root and not the owner's group: chmod can fail, and then the ledger must not
    open files others can still read."""
    data_dir = tmp_path / "data"
    SecretsLedger(LedgerConfig(data_dir=data_dir)).close()
    (data_dir / "ledger.db").chmod(0o644)

    def refuse(path, mode, **_):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(NotPrivate, match=r"ledger.db has mode 0644, open to other users, and "
                                         r"could not be made 0600: Operation not permitted"):
        SecretsLedger(LedgerConfig(data_dir=data_dir))


def test_a_root_key_file_another_user_owns_is_refused(open_parent):
    """--root-key named outside the data directory: its owner could read or swap the key."""
    if os.geteuid() != 0:
        pytest.skip("acting as another OS user needs root")
    open_parent.chmod(0o1777)
    key = open_parent / "root.key"
    as_other_user(f"echo {'S' * 43}= > {key} && chmod 600 {key}")
    done = run_cli(*STORE, "--data-dir", str(open_parent / "data"), "--root-key", str(key))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"secrets-ledger call: {key} is owned by uid {OTHER_UID}, not this user: another "
        "user could read or replace the key"]
