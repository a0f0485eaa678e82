"""Settings, read once at start-up: where the log lives and the ledger's own identity."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ledger.files import private_data_dir
from ledger.pg_settings import URL_ENV, settings_from_url
from ledger.secret import Limits


def _seconds(text: str) -> timedelta | None:
    """LEDGER_DIGEST_INTERVAL in seconds; 0 writes digests only on demand."""
    seconds = float(text)
    return timedelta(seconds=seconds) if seconds > 0 else None


DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
STORES = ("sqlite", "postgres")


LEDGER_FILE = "ledger.db"


@dataclass(frozen=True)
class LedgerConfig:
    data_dir: Path | None = None  # None: in memory, gone at exit
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    limits: Limits = field(default_factory=Limits)
    store: str = "sqlite"  # "sqlite" (in memory without data_dir) or "postgres"
    # postgresql://user:password@host:port/dbname[?schema=name]; None: POSTGRES_* from the env
    database_url: str | None = field(default=None, repr=False)  # it holds a password
    digest_interval: timedelta | None = timedelta(hours=1)  # signed log digests; None: on demand
    # Policies decide every call (see ledger.authorization); False trusts every caller, for
    # embedding programs that do their own access control. Caller.system() is trusted anyway.
    authorization: bool = True
    # Key files kept outside the data directory (see ledger.keys.rootkey and
    # ledger.integrity.signing); None: the root key from LEDGER_ROOT_KEY or DATA_DIR/root.key,
    # the signing key from the key store.
    root_key_file: Path | None = None
    signing_key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.store not in STORES:
            raise ValueError(f"store must be one of {', '.join(STORES)}, not {self.store!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, Path):
            object.__setattr__(self, "data_dir", Path(self.data_dir))  # a str is welcome too
        for name in ("root_key_file", "signing_key_file"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))

    @property
    def db_path(self) -> Path | None:
        """The SQLite file of the log, key store and views (None in memory)."""
        return self.data_dir / LEDGER_FILE if self.data_dir is not None else None

    @property
    def backend(self) -> str:
        """Where the log lives: "memory", "sqlite" or "postgres"."""
        if self.store == "postgres":
            return "postgres"
        return "memory" if self.data_dir is None else "sqlite"

    def _postgres_env(self) -> dict[str, str]:
        """The log, key store, views and digests in one PostgreSQL database. The root key
        must outlive the process, so it comes from a key file, LEDGER_ROOT_KEY or the data
        directory."""
        if (self.data_dir is None and self.root_key_file is None
                and not os.environ.get("LEDGER_ROOT_KEY")):
            raise ValueError("the postgres store needs a root key: --root-key FILE, "
                             "LEDGER_ROOT_KEY_FILE, LEDGER_ROOT_KEY or a data directory "
                             "(for root.key)")
        if self.data_dir is not None:
            private_data_dir(self.data_dir)
        env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
               "APPLICATION_RECORDER_TOPIC": "ledger.pg_storage:PostgresLedgerRecorder"}
        if self.database_url:
            env.update(settings_from_url(self.database_url))
        return env

    @classmethod
    def from_environ(cls, data_dir: str | os.PathLike | None = None, **overrides) -> LedgerConfig:
        env = os.environ
        directory = data_dir if data_dir is not None else env.get("LEDGER_DATA_DIR")
        settings = dict(
            data_dir=Path(directory) if directory else None,
            region=env.get("LEDGER_REGION", DEFAULT_REGION),
            account_id=env.get("LEDGER_ACCOUNT_ID", DEFAULT_ACCOUNT),
            store=env.get("LEDGER_STORE") or ("postgres" if env.get(URL_ENV) else "sqlite"),
            database_url=env.get(URL_ENV) or None,
            digest_interval=_seconds(env.get("LEDGER_DIGEST_INTERVAL", "3600")),
            root_key_file=env.get("LEDGER_ROOT_KEY_FILE") or None,
            signing_key_file=env.get("LEDGER_SIGNING_KEY_FILE") or None,
        )
        settings.update(overrides)
        return cls(**settings)

    def eventsourcing_env(self) -> dict[str, str]:
        # Cached aggregates are fast-forwarded from the store on every read, so several
        # processes on one log still see each other's writes.
        env = {"TRANSCODER_TOPIC": "ledger.codec:MsgPackTranscoder",
               "AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
        if self.backend == "postgres":
            return {**env, **self._postgres_env()}
        if self.data_dir is None:
            env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
            return env
        private_data_dir(self.data_dir, self.db_path)
        env.update({
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.db_path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "ledger.storage:SQLiteLedgerRecorder",
        })
        return env
