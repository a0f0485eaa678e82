"""The store is chosen by configuration alone: --store, LEDGER_STORE, POSTGRES_* or a URL."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.pg_settings import DatabaseUrlError, configured, settings_from_url
from tests.scaleout.pg import fresh_schema
from tests.server.conftest import PROJECT
from tools.cli import build_parser
from tools.commands.common import store_overrides

URL = "postgresql://ledger:s3cr3t%2Fpw@db.internal:6543/ledgerdb?schema=team_a"


def test_a_url_becomes_the_postgres_settings_eventsourcing_reads():
    assert settings_from_url(URL) == {
        "POSTGRES_HOST": "db.internal", "POSTGRES_PORT": "6543", "POSTGRES_DBNAME": "ledgerdb",
        "POSTGRES_USER": "ledger", "POSTGRES_PASSWORD": "s3cr3t/pw", "POSTGRES_SCHEMA": "team_a"}
    assert settings_from_url("postgres://u:p@h/d")["POSTGRES_PORT"] == "5432"


@pytest.mark.parametrize("url", ["mysql://u:p@h/d", "postgresql://h/d", "postgresql://u:p@h/",
                                 "postgresql://u:p@h/d?schema=Bad-Name"])
def test_an_incomplete_or_foreign_url_is_refused_without_echoing_it(url):
    with pytest.raises(DatabaseUrlError) as caught:
        settings_from_url(url)
    assert ":p@" not in str(caught.value)


def test_the_url_alone_selects_postgres_and_its_password_stays_out_of_the_repr(monkeypatch,
                                                                               tmp_path):
    monkeypatch.delenv("LEDGER_STORE", raising=False)
    monkeypatch.setenv("LEDGER_DATABASE_URL", URL)
    config = LedgerConfig.from_environ(data_dir=tmp_path)
    assert config.backend == "postgres"
    env = config.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["APPLICATION_RECORDER_TOPIC"] == "ledger.pg_storage:PostgresLedgerRecorder"
    assert env["POSTGRES_PASSWORD"] == "s3cr3t/pw"
    assert "s3cr3t" not in repr(config)


def test_ledger_store_selects_the_backend_and_defaults_to_sqlite(monkeypatch, tmp_path):
    for name in ("LEDGER_DATABASE_URL", "LEDGER_STORE", "LEDGER_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert LedgerConfig.from_environ(data_dir=tmp_path).backend == "sqlite"
    assert LedgerConfig.from_environ().backend == "memory"
    monkeypatch.setenv("LEDGER_STORE", "postgres")
    assert LedgerConfig.from_environ(data_dir=tmp_path).backend == "postgres"
    monkeypatch.setenv("LEDGER_STORE", "oracle")
    with pytest.raises(ValueError, match="store must be one of"):
        LedgerConfig.from_environ(data_dir=tmp_path)


def test_the_store_flag_overrides_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LEDGER_STORE", "postgres")
    args = build_parser().parse_args(["serve", "--store", "sqlite", "--data-dir", str(tmp_path)])
    config = LedgerConfig.from_environ(data_dir=tmp_path, **store_overrides(args))
    assert config.backend == "sqlite"
    args = build_parser().parse_args(["verify", "--data-dir", str(tmp_path)])
    assert LedgerConfig.from_environ(data_dir=tmp_path, **store_overrides(args)).backend == (
        "postgres")


def test_postgres_without_a_place_for_the_root_key_is_refused(monkeypatch):
    monkeypatch.delenv("LEDGER_ROOT_KEY", raising=False)
    with pytest.raises(ValueError, match="root.key"):
        LedgerConfig(store="postgres").eventsourcing_env()


def test_postgres_is_configured_by_a_url_or_by_every_required_setting():
    assert configured({"LEDGER_DATABASE_URL": URL})
    full = {"POSTGRES_DBNAME": "d", "POSTGRES_HOST": "h", "POSTGRES_USER": "u",
            "POSTGRES_PASSWORD": "p"}
    assert configured(full)
    assert not configured({**full, "POSTGRES_PASSWORD": ""})


@pytest.mark.postgres
def test_a_ledger_opened_from_the_url_alone_works(monkeypatch, tmp_path):
    with fresh_schema() as schema:
        url = (f"postgresql://{os.environ['POSTGRES_USER']}:{os.environ['POSTGRES_PASSWORD']}@"
               f"{os.environ['POSTGRES_HOST']}:{os.environ.get('POSTGRES_PORT', '5432')}/"
               f"{os.environ['POSTGRES_DBNAME']}?schema={schema}")
        for key in [k for k in os.environ if k.startswith("POSTGRES_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("LEDGER_DATABASE_URL", url)
        ledger = SecretsLedger(LedgerConfig.from_environ(data_dir=tmp_path, authorization=False))
        try:
            caller = Caller.system()
            ledger.call("CreateSecret", {"Name": "by/url", "SecretString": "v"}, caller)
            assert ledger.call("DescribeSecret", {"SecretId": "by/url"}, caller)["Name"] == (
                "by/url")
            assert ledger.recorder.datastore.schema == schema
        finally:
            ledger.close()


@pytest.mark.postgres
def test_the_cli_runs_against_postgres_with_the_store_flag(tmp_path):
    with fresh_schema() as schema:
        env = {**os.environ, "POSTGRES_SCHEMA": schema}
        env.pop("LEDGER_STORE", None)
        command = [sys.executable, "-m", "tools.cli", "digest", "--store", "postgres",
                   "--data-dir", str(tmp_path)]
        done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        verified = subprocess.run([sys.executable, "-m", "tools.cli", "verify", "--store",
                                   "postgres", "--data-dir", str(tmp_path)], cwd=PROJECT,
                                  env=env, capture_output=True, text=True, timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "valid" in verified.stdout and "INVALID" not in verified.stdout


def test_a_data_directory_given_as_text_is_a_path(tmp_path):
    config = LedgerConfig(data_dir=str(tmp_path / "text"))
    assert config.data_dir == tmp_path / "text" and config.backend == "sqlite"
    assert config.db_path == tmp_path / "text" / "ledger.db"
    ledger = SecretsLedger(config)
    try:
        ledger.call("CreateSecret", {"Name": "a", "SecretString": "v"}, Caller.system())
    finally:
        ledger.close()
    assert config.db_path.exists()
