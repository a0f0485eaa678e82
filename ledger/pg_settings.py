"""PostgreSQL connection settings: eventsourcing's POSTGRES_* keys, or one URL.

`LEDGER_DATABASE_URL=postgresql://user:password@host:port/dbname?schema=name` is turned into
the POSTGRES_* settings eventsourcing reads; without a URL, eventsourcing reads POSTGRES_* from
the environment itself. Either way the password only ever travels in these settings, never into
a log line or an error message.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

URL_ENV = "LEDGER_DATABASE_URL"
REQUIRED = ("POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_PASSWORD")
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DatabaseUrlError(ValueError):
    """The URL is not a PostgreSQL URL with a user, password, host and database."""


def settings_from_url(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise DatabaseUrlError("the database URL must start with postgresql://")
    dbname = unquote(parts.path.lstrip("/"))
    if not (parts.hostname and parts.username and parts.password is not None and dbname):
        raise DatabaseUrlError("the database URL needs user, password, host and database: "
                               "postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    settings = {"POSTGRES_HOST": parts.hostname, "POSTGRES_PORT": str(parts.port or 5432),
                "POSTGRES_DBNAME": dbname, "POSTGRES_USER": unquote(parts.username),
                "POSTGRES_PASSWORD": unquote(parts.password)}
    schema = parse_qs(parts.query).get("schema")
    if schema:
        settings["POSTGRES_SCHEMA"] = check_schema(schema[-1])
    return settings


def check_schema(name: str) -> str:
    """Schema names are put into connection options, so only plain identifiers are taken."""
    if not SCHEMA_NAME.match(name):
        raise DatabaseUrlError(f"schema name {name!r} must be a lower-case identifier")
    return name


def configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a PostgreSQL database is configured (a URL, or every required POSTGRES_* key)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get(URL_ENV)) or all(environ.get(key) for key in REQUIRED)
