# A private, throw-away PostgreSQL 15 server for tests and benchmarks. Sourced.
# shellcheck shell=bash
# pg_start sets PG_URI (postgresql://postgres@127.0.0.1:PORT/) and PG_BIN;
# pg_stop stops the server and removes its folder. PostgreSQL refuses to run
# as root, so as root the server runs as the unprivileged user "hbpg".

PG_VERSION=15
PG_USER=hbpg

pg_find_bin() {
    PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
    if [ ! -x "$PG_BIN/postgres" ]; then
        apt_install "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION"
    fi
    [ -x "$PG_BIN/postgres" ] || die "PostgreSQL $PG_VERSION not found in $PG_BIN"
    export PATH="$PG_BIN:$PATH"
}

pg_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

pg_start() {
    pg_find_bin
    if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
    fi
    PG_DIR="$(mktemp -d /tmp/hb-pg.XXXXXX)"
    chmod 755 "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$PG_DIR"
    PG_PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    step "Starting a private PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT ($PG_DIR)"
    pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    PG_URI="postgresql://postgres@127.0.0.1:$PG_PORT/"
    export PG_URI PG_PORT PG_DIR PG_BIN
}

pg_stop() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}

# The test databases' cache as template databases of the private server
# (trytond's DB_CACHE=postgresql://): a test class gets its database by
# CREATE DATABASE … TEMPLATE (about 1 s) instead of pg_restore (6-7 s, and
# a run makes over a hundred). The server is new each run, so the
# templates are kept between runs as dumps in a folder keyed on the
# sources: pg_cache_load restores them as templates before the tests,
# pg_cache_save dumps the templates the run made that the folder lacks.
pg_cache_opts() {
    echo "-h 127.0.0.1 -p $PG_PORT -U postgres"
}

pg_cache_load() {
    local folder="$1" dump name
    [ -d "$folder" ] || return 0
    # trytond's own names: the dump HASH-postgresql.dump (as DB_CACHE in a
    # folder writes it: bench/run.sh shares these) is the template test-HASH
    for dump in "$folder"/*-postgresql.dump; do
        [ -e "$dump" ] || continue
        name="test-$(basename "$dump" -postgresql.dump)"
        # shellcheck disable=SC2046
        "$PG_BIN/createdb" $(pg_cache_opts) -T template0 -E UTF8 "$name" \
            && "$PG_BIN/pg_restore" $(pg_cache_opts) -j 2 -d "$name" "$dump" \
            || { echo "cached database $name could not be restored: removed" >&2;
                "$PG_BIN/dropdb" $(pg_cache_opts) --if-exists "$name";
                rm -rf "$dump"; }
    done
}

pg_cache_save() {
    local folder="$1" name dump
    [ -n "${PG_PORT:-}" ] || return 0
    mkdir -p "$folder"
    # shellcheck disable=SC2046
    for name in $("$PG_BIN/psql" $(pg_cache_opts) -d postgres -Atc \
            "SELECT datname FROM pg_database WHERE datname LIKE 'test-%'"); do
        dump="$folder/${name#test-}-postgresql.dump"
        [ -e "$dump" ] && continue
        "$PG_BIN/pg_dump" $(pg_cache_opts) -F d -j 2 \
            -f "$dump.tmp" "$name" \
            && mv "$dump.tmp" "$dump" \
            || rm -rf "$dump.tmp"
    done
}
