"""tools/pg_throwaway.sh: a cluster of its own on loopback, usable at once, gone after stop."""
from __future__ import annotations

import glob
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import PROJECT

SCRIPT = PROJECT / "tools" / "pg_throwaway.sh"


def exports(text: str) -> dict[str, str]:
    settings = {}
    for line in text.splitlines():
        assert line.startswith("export "), line  # stdout is meant for eval: nothing else
        for pair in shlex.split(line[len("export "):]):
            key, value = pair.split("=", 1)
            settings[key] = value
    return settings


def test_start_prints_working_settings_and_stop_removes_the_cluster():
    if os.geteuid() != 0:
        pytest.skip("pg_throwaway.sh runs initdb through runuser: needs root")
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("no PostgreSQL binaries (pg_throwaway.sh would apt-get install them)")
    started = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True,
                             timeout=180)
    assert started.returncode == 0, started.stderr
    settings = exports(started.stdout)
    directory = Path(settings["LEDGER_PG_DIR"])
    try:
        assert settings["POSTGRES_HOST"] == "127.0.0.1" and int(settings["POSTGRES_PORT"]) > 1024
        import psycopg
        with psycopg.connect(host=settings["POSTGRES_HOST"], port=settings["POSTGRES_PORT"],
                             dbname=settings["POSTGRES_DBNAME"], user=settings["POSTGRES_USER"],
                             password=settings["POSTGRES_PASSWORD"]) as connection:
            row = connection.execute("SHOW fsync").fetchone()
            assert row[0] == "off"
            connection.execute("CREATE TABLE owned_by_the_role (x int)")  # it owns the db
    finally:
        stopped = subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True,
                                 timeout=120, env={**os.environ, **settings})
    assert stopped.returncode == 0, stopped.stderr
    assert not directory.exists()


def test_stop_refuses_a_directory_it_did_not_create(tmp_path):
    stopped = subprocess.run(["bash", str(SCRIPT), "stop", str(tmp_path)], capture_output=True,
                             text=True, timeout=60)
    assert stopped.returncode != 0 and tmp_path.exists()
