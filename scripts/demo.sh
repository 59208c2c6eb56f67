#!/usr/bin/env bash
# The demo command (make demo): installs what is needed, creates the SQLite
# demo database with Finnish and English, activates the four HB modules,
# loads the demo data and serves trytond with sao on http://127.0.0.1:8000.
# A second run reuses everything and starts in seconds. Ctrl-C stops it.
source "$(dirname "$0")/lib.sh"

DB="${HB_DEMO_DB:-hb_demo}"
DB_DIR="$ROOT/var/db"
PASSFILE="$ROOT/var/admin-password"
READY="$DB_DIR/$DB.ready"

cd "$ROOT"
export TRYTOND_CONFIG="$ROOT/config/trytond.conf"
export TRYTOND_DATABASE__PATH="$DB_DIR"
export TRYTOND_WEB__ROOT="$SAO_DIR"
mkdir -p "$DB_DIR" "$ROOT/var/log"

ensure_venv
ensure_sao

HASH="$(sources_hash)"
if [ ! -f "$READY" ]; then
    step "Creating the demo database $DB_DIR/$DB.sqlite (Finnish and English; a few minutes)"
    rm -f "$DB_DIR/$DB.sqlite"
    touch "$DB_DIR/$DB.sqlite"
    umask 077
    "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))' > "$PASSFILE"
    umask 022
    TRYTONPASSFILE="$PASSFILE" "$VENV/bin/trytond-admin" -v -d "$DB" \
        -u "${MODULES[@]}" --activate-dependencies -l fi en \
        --email admin@hb-demo.invalid 2>&1 | grep --line-buffered -E 'init db|:module:|load |ERROR|Traceback' | sed -u 's/^/    /' || true
    step "Loading the demo data"
    "$VENV/bin/python" "$ROOT/scripts/demo_data.py" "$DB"
    echo "$HASH" > "$READY"
    NEW_PASSWORD=1
elif [ "$(cat "$READY")" != "$HASH" ]; then
    step "Module sources changed: updating the demo database"
    "$VENV/bin/trytond-admin" -d "$DB" -u "${MODULES[@]}" --activate-dependencies -l fi en
    "$VENV/bin/python" "$ROOT/scripts/demo_data.py" "$DB"
    echo "$HASH" > "$READY"
fi

step "Serving the demo on http://127.0.0.1:8000/ (Ctrl-C stops it)"
echo "    Web client:        http://127.0.0.1:8000/#$DB"
echo "    User:              admin"
if [ -n "${NEW_PASSWORD:-}" ]; then
    echo "    Password:          $(cat "$PASSFILE")   (shown once; kept in var/admin-password)"
else
    echo "    Password:          in var/admin-password"
fi
echo "    Public catalogue:  http://127.0.0.1:8000/$DB/hb/catalogue"
echo "    Provider portal:   http://127.0.0.1:8000/$DB/hb/provider"
echo "    Client page:       http://127.0.0.1:8000/$DB/hb/client"
exec "$VENV/bin/trytond" --logconf "$ROOT/config/logging.conf" -d "$DB"
