#!/usr/bin/env bash
# The demo command (make demo): installs what is needed, creates the SQLite
# demo database with Finnish, Swedish and English, activates the four HB modules,
# loads the demo data and serves trytond with sao on http://127.0.0.1:8000.
# A second run reuses everything and starts in seconds. Ctrl-C stops it.
source "$(dirname "$0")/lib.sh"

# HB_DEMO_VAR and HB_DEMO_LISTEN let tests run a demo beside yours.
DB="${HB_DEMO_DB:-hb_demo}"
VAR="${HB_DEMO_VAR:-$ROOT/var}"
LISTEN="${HB_DEMO_LISTEN:-127.0.0.1:8000}"
DB_DIR="$VAR/db"
PASSFILE="$VAR/admin-password"
READY="$DB_DIR/$DB.ready"

cd "$ROOT"
mkdir -p "$DB_DIR" "$VAR/log"
# config/trytond.conf with its checkout-relative paths made absolute (trytond
# reads the file after the environment, and SQLite needs an absolute path).
sed -e "s|^path = var/db|path = $DB_DIR|" \
    -e "s|^root = .cache/sao/package|root = $SAO_DIR|" \
    -e "s|^listen = 127.0.0.1:8000|listen = $LISTEN|" \
    "$ROOT/config/trytond.conf" > "$VAR/trytond.conf"
sed -e "s|'var/log/|'$VAR/log/|" "$ROOT/config/logging.conf" > "$VAR/logging.conf"
export TRYTOND_CONFIG="$VAR/trytond.conf"

ensure_venv
ensure_sao
# LibreOffice (Writer without the GUI) converts the letters to PDF
apt_install libreoffice-writer-nogui

HASH="$(sources_hash)"
if [ ! -f "$READY" ]; then
    step "Creating the demo database $DB_DIR/$DB.sqlite (Finnish, Swedish and English; a few minutes)"
    rm -f "$DB_DIR/$DB.sqlite"
    touch "$DB_DIR/$DB.sqlite"
    umask 077
    "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))' > "$PASSFILE"
    umask 022
    # Progress: one line per module as trytond-admin loads it; the full log
    # is var/log/demo-init.log.
    TRYTONPASSFILE="$PASSFILE" "$VENV/bin/trytond-admin" -vv -d "$DB" \
        -u "${MODULES[@]}" --activate-dependencies -l fi sv en \
        --email admin@hb-demo.invalid > "$VAR/log/demo-init.log" 2>&1 &
    admin_pid=$!
    tail -n +1 -f "$VAR/log/demo-init.log" --pid="$admin_pid" 2>/dev/null \
        | grep --line-buffered -E 'trytond.modules [a-z_]+ load$' \
        | awk '{n++; printf "    [%2d] %s\n", n, $(NF-1); fflush()}' || true
    if ! wait "$admin_pid"; then
        rm -f "$DB_DIR/$DB.sqlite"
        tail -30 "$VAR/log/demo-init.log" >&2
        die "creating the database failed; see $VAR/log/demo-init.log"
    fi
    step "Loading the demo data"
    HB_DEMO_PASSWORD="$(cat "$PASSFILE")" \
        "$VENV/bin/python" "$ROOT/scripts/demo_data.py" "$DB"
    echo "$HASH" > "$READY"
    NEW_PASSWORD=1
elif [ "$(cat "$READY")" != "$HASH" ]; then
    step "Module sources changed: updating the demo database"
    "$VENV/bin/trytond-admin" -d "$DB" -u "${MODULES[@]}" --activate-dependencies -l fi sv en
    HB_DEMO_PASSWORD="$(cat "$PASSFILE")" \
        "$VENV/bin/python" "$ROOT/scripts/demo_data.py" "$DB"
    echo "$HASH" > "$READY"
fi

URL="http://$LISTEN"
step "Serving the demo on $URL/ (Ctrl-C stops it)"
echo "    Web client:        $URL/#$DB"
echo "    Users:             admin, and one per role (README: \"Demo users\"):"
echo "                       sanna (own-worker), pirjo (supervisor),"
echo "                       leena (service manager), tuula (finance),"
echo "                       paavo (pilot admin); all with this password"
if [ -n "${NEW_PASSWORD:-}" ]; then
    echo "    Password:          $(cat "$PASSFILE")   (shown once; kept in ${PASSFILE#$ROOT/})"
else
    echo "    Password:          in ${PASSFILE#$ROOT/}"
fi
echo "    Public catalogue:  $URL/$DB/hb/catalogue"
echo "    Provider portal:   $URL/$DB/hb/provider"
echo "                       (e.g. demo-1-kajaanin@example.com, the admin password)"
echo "    Client page:       $URL/$DB/hb/client"
echo "                       (e.g. +358507000100; the one-time code is in"
echo "                       Personal budgets > SMS messages of the web client)"
if [ -n "${HB_STRONG_LOGIN:-}" ]; then
    # Suomi.fi e-Identification against a local identity provider
    # (fictitious people; keys made in var/saml, never in git)
    SAML_DIR="$VAR/saml"
    IDP_PORT="${HB_IDP_PORT:-8010}"
    step "Starting the local identity provider on http://127.0.0.1:$IDP_PORT (stands in for Suomi.fi)"
    apt_install xmlsec1
    "$VENV/bin/python" "$ROOT/scripts/demo_saml.py" "$DB" "$SAML_DIR"
    "$VENV/bin/python" -m trytond.modules.hb_voucher.tests.saml_idp "$SAML_DIR" \
        --port "$IDP_PORT" --sp-metadata "$URL/$DB/hb/saml/metadata" \
        --people "$SAML_DIR/people.json" > "$VAR/log/idp.log" 2>&1 &
    for _ in $(seq 1 50); do [ -f "$SAML_DIR/idp-metadata.xml" ] && break; sleep 0.2; done
    export TRYTOND_HB_SAML__IDP_METADATA="$SAML_DIR/idp-metadata.xml"
    export TRYTOND_HB_SAML__KEY_FILE="$SAML_DIR/sp.key"
    export TRYTOND_HB_SAML__CERT_FILE="$SAML_DIR/sp.crt"
    export TRYTOND_HB_SAML__BASE_URL="$URL"
    export TRYTOND_HB_SAML__ACCEPT_TEMPORARY_HETU=True
    export TRYTOND_HB_SAML__MANDATES_FILE="$SAML_DIR/mandates.json"
    echo "    Strong login:      \"Tunnistaudu\" on the client page's login"
fi
exec "$VENV/bin/python" "$ROOT/scripts/serve_demo.py" --logconf "$VAR/logging.conf" -d "$DB"
