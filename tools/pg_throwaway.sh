#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for tests and benchmarks. Run as root.
#
#   eval "$(bash tools/pg_throwaway.sh start)"   # prints only `export ...` lines on stdout
#   bash tools/pg_throwaway.sh stop              # stops the cluster named by $LEDGER_PG_DIR
#
# `start` installs Debian's postgresql if its binaries are missing, runs initdb (as the
# postgres user: initdb refuses root) into a fresh temporary directory, starts the server on
# 127.0.0.1 on a free high port with durability off (the data is disposable), creates a role
# and a database owned by it, and prints the POSTGRES_* settings plus LEDGER_PG_DIR. `stop`
# stops that one cluster and deletes its directory; it never touches any other cluster.
# Progress and errors go to stderr.
set -euo pipefail

say() { echo "[pg_throwaway] $*" >&2; }

pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  return 0
}

install_postgresql() {
  say "postgresql binaries missing: installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1
  # The package would otherwise create and start its own 'main' cluster on :5432.
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
  fi
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

as_postgres() { runuser -u postgres -- "$@"; }

start() {
  if [ "$(id -u)" != 0 ]; then say "run me as root"; exit 1; fi
  local bin; bin=$(pg_bindir)
  if [ -z "$bin" ]; then install_postgresql; bin=$(pg_bindir); fi
  if [ -z "$bin" ]; then say "no initdb after installing postgresql"; exit 1; fi
  id postgres >/dev/null 2>&1 || { say "no postgres user"; exit 1; }

  local dir; dir=$(mktemp -d /tmp/ledger-pg.XXXXXX)
  mkdir -p "$dir/data" "$dir/sock"
  chown -R postgres:postgres "$dir"; chmod 700 "$dir/data"
  local password; password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=peer \
    --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >/dev/null

  local port attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$(( 40000 + (RANDOM * 32768 + RANDOM) % 20000 ))
    port_free "$port" || continue
    if as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         -c shared_buffers=64MB" >/dev/null; then
      break
    fi
    say "start on port $port failed (attempt $attempt), trying another"
    port=""
  done
  if [ -z "$port" ]; then say "could not start; see $dir/server.log"; exit 1; fi

  as_postgres "$bin/psql" -h "$dir/sock" -p "$port" -d postgres -v ON_ERROR_STOP=1 -qtA \
    -c "CREATE ROLE ledger LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE ledger OWNER ledger" >/dev/null
  say "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
  echo "export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=$port POSTGRES_DBNAME=ledger"
  echo "export POSTGRES_USER=ledger POSTGRES_PASSWORD=$password"
  echo "export LEDGER_PG_DIR=$dir"
}

stop() {
  local dir=${1:-${LEDGER_PG_DIR:-}}
  if [ -z "$dir" ]; then say "stop: set LEDGER_PG_DIR (printed by start) or pass the directory"; exit 1; fi
  case "$dir" in /tmp/ledger-pg.*) ;; *) say "stop: $dir is not a cluster of this script"; exit 1;; esac
  [ -d "$dir" ] || { say "stop: $dir is gone already"; return 0; }
  local bin; bin=$(pg_bindir)
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
  fi
  rm -rf "$dir"
  say "stopped and removed $dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start|stop [DIR]" >&2; exit 2 ;;
esac
