# Shared shell functions of the demo and test commands. Sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CACHE="$ROOT/.cache"
SAO_VERSION="${SAO_VERSION:-8.0}"
SAO_DIR="$CACHE/sao/package"
MODULES=(hb_budget hb_marketplace hb_voucher hb_avain)

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@";
    else die "need root to run: $*"; fi
}

APT_UPDATED=
apt_install() {
    # apt_install PACKAGE...: install Debian packages that are missing.
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    step "Installing Debian packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -q; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

sources_hash() {
    # A hash of everything that decides what the virtualenv or a test
    # database contains: requirements, module sources, data and views.
    (cd "$ROOT" && find requirements.txt addons -type f \
        \( -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.po' \
           -o -name '*.toml' -o -name '*.rst' -o -name '*.fodt' -o -name '*.odt' \
           -o -name '*.svg' -o -name '*.html' -o -name '*.css' -o -name '*.js' \) \
        -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

ensure_venv() {
    # The virtualenv with pinned Tryton 8.0 and the four modules (editable).
    local stamp="$VENV/.hb-installed" want
    # xmlsec1 signs and checks the SAML messages of Suomi.fi identification
    apt_install xmlsec1
    want="$(cd "$ROOT" && cat requirements.txt bench/requirements.txt addons/*/pyproject.toml | sha256sum | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    step "Installing Python packages into .venv (Tryton 8.0, modules)"
    command -v python3 >/dev/null || apt_install python3 python3-venv
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --progress-bar on -q --upgrade pip setuptools wheel
    # (bench/requirements.txt: gunicorn, for the benchmark's smoke test)
    "$VENV/bin/python" -m pip install --progress-bar on -r "$ROOT/requirements.txt" \
        -r "$ROOT/bench/requirements.txt"
    local editable=()
    for m in "${MODULES[@]}"; do editable+=(-e "$ROOT/addons/$m"); done
    # (PYTHONWARNINGS quiets setuptools' long notes about editable installs)
    PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q --no-deps "${editable[@]}"
    echo "$want" > "$stamp"
}

ensure_sao() {
    # The sao web client from npm, with its runtime dependencies.
    if [ -f "$SAO_DIR/.hb-installed" ]; then return 0; fi
    command -v npm >/dev/null || apt_install nodejs npm
    step "Fetching the sao web client (tryton-sao@$SAO_VERSION) from npm"
    rm -rf "$CACHE/sao"; mkdir -p "$CACHE/sao"
    (cd "$CACHE/sao" && npm pack --silent "tryton-sao@$SAO_VERSION" >/dev/null && tar xzf tryton-sao-*.tgz && rm -f tryton-sao-*.tgz)
    step "Installing sao's runtime dependencies"
    (cd "$SAO_DIR" && npm install --omit=dev --legacy-peer-deps --no-audit --no-fund --loglevel=error)
    [ -f "$SAO_DIR/index.html" ] || die "sao was not installed in $SAO_DIR"
    touch "$SAO_DIR/.hb-installed"
}

ensure_npm_tools() {
    # Browser-test helpers from npm (axe-core for accessibility checks).
    local dir="$CACHE/npm"
    if [ -f "$dir/node_modules/axe-core/axe.min.js" ]; then return 0; fi
    step "Installing axe-core from npm"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error axe-core@4)
}
