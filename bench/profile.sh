#!/usr/bin/env bash
# The cost of one request of the measured paths, in one process (see
# bench/profile.py): bash bench/profile.sh [--charges N] [--queries]
# [--profile DIR]. Starts a private PostgreSQL as bench/run.sh does.
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/../scripts/pg.sh"

ensure_venv
pg_start
trap pg_stop EXIT
export TRYTOND_DATABASE__URI="$PG_URI"
export DB_CACHE="${DB_CACHE:-$CACHE/test-db/postgresql-$(sources_hash)}"
mkdir -p "$DB_CACHE"
unset TRYTOND_CONFIG DB_NAME
cd "$ROOT"
"$VENV/bin/python" bench/profile.py "$@"
