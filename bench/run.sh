#!/usr/bin/env bash
# The benchmark command (make bench): on a private PostgreSQL 15 started as
# the tests start it, builds a database and a data set, serves it with
# gunicorn, runs the benchmarks, prints a table and writes it as JSON.
#   bash bench/run.sh [--size smoke|default] [--workers N] [--clients N] ...
# (bash bench/run.sh --help lists the options)
# The databases are activated as the tests activate them and cached in the
# test command's cache (.cache/test-db, keyed on the module sources).
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/../scripts/pg.sh"

ensure_venv
if ! "$VENV/bin/python" -c 'import gunicorn' 2>/dev/null; then
    step "Installing the benchmark tools (bench/requirements.txt)"
    "$VENV/bin/python" -m pip install -q -r "$ROOT/bench/requirements.txt"
fi
pg_start
trap pg_stop EXIT
export TRYTOND_DATABASE__URI="$PG_URI"
export DB_CACHE="${DB_CACHE:-$CACHE/test-db/postgresql-$(sources_hash)}"
mkdir -p "$DB_CACHE"
unset TRYTOND_CONFIG DB_NAME
cd "$ROOT"
# (bench/profile.sh runs bench.profile the same way)
"$VENV/bin/python" -m "${HB_BENCH_MODULE:-bench.bench}" "$@"
