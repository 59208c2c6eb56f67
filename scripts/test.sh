#!/usr/bin/env bash
# The test command (make test): installs what it needs, starts a private
# PostgreSQL 15, runs ruff and every test, stops the server.
#   scripts/test.sh            all tests on PostgreSQL (what CI runs)
#   scripts/test.sh --sqlite   a quick run on SQLite, without the browser
#   scripts/test.sh [--sqlite] NAME...   only test modules matching NAME
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg.sh"

BACKEND=postgresql
ARGS=()
for a in "$@"; do
    case "$a" in
        --sqlite) BACKEND=sqlite ;;
        *) ARGS+=("$a") ;;
    esac
done

ensure_venv

step "ruff"
"$VENV/bin/ruff" check "$ROOT"

HASH="$(sources_hash)"
export DB_CACHE="$CACHE/test-db/$BACKEND-$HASH"
# Caches of other sources are stale and never used again; remove those
# unused for a day (not at once: another run may be using its own).
if [ -d "$CACHE/test-db" ]; then
    find "$CACHE/test-db" -mindepth 1 -maxdepth 1 -name "$BACKEND-*" \
        ! -name "$BACKEND-$HASH" -mmin +1440 -exec rm -rf {} +
fi
mkdir -p "$DB_CACHE"
export TRYTOND_CONFIG="$ROOT/config/test.conf"
export HB_ARTIFACTS="${HB_ARTIFACTS:-$ROOT/tests/artifacts}"
mkdir -p "$HB_ARTIFACTS"

RUNNER_ARGS=()
if [ "$BACKEND" = postgresql ]; then
    ensure_sao
    ensure_npm_tools
    # LibreOffice converts the decision letters to PDF (Writer without
    # the GUI, in the same apt step as the browser); required on
    # PostgreSQL: the PDF tests fail without it (pdf_tools.py)
    apt_install chromium chromium-driver libreoffice-writer-nogui
    export HB_REQUIRE_SOFFICE=1
    pg_start
    # the cache as template databases, kept as dumps in DB_CACHE's folder
    PG_CACHE_DIR="$DB_CACHE"
    trap 'pg_cache_save "$PG_CACHE_DIR"; pg_stop' EXIT
    pg_cache_load "$PG_CACHE_DIR"
    export DB_CACHE="postgresql://"
    export TRYTOND_DATABASE__URI="$PG_URI"
    export DB_NAME="test_hb"
    # two test processes, each on its own database (tests/runner.py --jobs)
    RUNNER_ARGS+=(--jobs "${HB_TEST_JOBS:-2}")
else
    export TRYTOND_DATABASE__URI="sqlite://"
    unset DB_NAME
    RUNNER_ARGS+=(--quick)
fi
export HB_SAO_ROOT="$SAO_DIR"
export HB_AXE_JS="$CACHE/npm/node_modules/axe-core/axe.min.js"

step "Tests on $BACKEND (database cache: ${PG_CACHE_DIR:-$DB_CACHE}; ${PG_CACHE_DIR:+template databases})"
cd "$ROOT"
set +e
"$VENV/bin/python" -m tests.runner "${RUNNER_ARGS[@]}" "${ARGS[@]}"
status=$?
set -e
exit $status
