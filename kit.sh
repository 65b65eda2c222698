#!/usr/bin/env bash
# The kit's two entry points, each self-contained on a fresh machine (Python >= 3.11 and pip):
#   bash kit.sh demo      set everything up, then run the kit's main job (adcourse demo)
#   bash kit.sh test      set everything up, lint (ruff), then run the whole test suite
#                         (bash kit.sh test -m "not slow": the fast inner loop)
# and, for people using the kit:
#   bash kit.sh lab       JupyterLab with nbgrader's extension and formgrader, on this folder (localhost, token)
#   bash kit.sh lectures  execute every lecture and render it to HTML in out/lectures/
#   bash kit.sh slides    execute every lecture and write it as a reveal.js deck in out/slides/
#   bash kit.sh setup     only set up .venv
# Extra arguments go to the command (pytest, adcourse demo, jupyter lab).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python3}"
VENV="${KIT_VENV:-.venv}"

# pip, quiet when it succeeds and complete when it fails.
pip_install() {
    local log
    log="$(mktemp)"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "kit: pip install $* failed (full log above)" >&2
        return 1
    fi
    rm -f "$log"
}

# System packages from Debian, installed when missing and we can (root with apt-get):
# bubblewrap (the autograder's sandbox) always; for the tests also chromium (browser tests,
# driven by Playwright), the PostgreSQL server (the PostgreSQL gradebook tests) and npm (reveal.js).
apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "kit: installing $* from Debian's packages" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "kit: missing system packages: $* (sudo apt-get install $*)" >&2
    fi
}

have_postgres() {
    command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

system_packages() {
    local missing=()
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    if [ "${1:-}" = test ]; then
        [ -x /usr/bin/chromium ] || missing+=(chromium)
        have_postgres || missing+=(postgresql)
        command -v npm >/dev/null 2>&1 || missing+=(npm)  # reveal.js for the slide-deck tests
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

setup() {
    system_packages "${1:-}"
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "kit: needs Python >= 3.11 as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "kit: creating the virtual environment in $VENV" >&2
        "$PYTHON" -m venv "$VENV"
    fi
    # The CPU wheel of torch first: with it installed, the project's range needs nothing more
    # (an open range would make pip fetch a multi-GB CUDA build).
    if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
        echo "kit: installing the CPU build of torch" >&2
        pip_install "torch==2.13.0"
    fi
    local stamp="$VENV/.kit-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "kit: installing the kit and its dependencies" >&2
        pip_install -e ".[dev]"
        touch "$stamp"
    fi
    reveal_js
}

# reveal.js for the offline slide decks (adcourse slides), from the npm registry into the venv:
# the decks copy it next to themselves, so nothing loads from a CDN. Skipped, with a note, without npm.
# (The version is also autograder/offline.py's REVEAL_JS_VERSION; tests/test_slides.py checks they agree.)
REVEAL_JS_VERSION="5.2.1"
reveal_js() {
    local prefix="$VENV/share/adlib-reveal"
    if [ -f "$prefix/node_modules/reveal.js/dist/reveal.js" ] && grep -q "\"version\": \"$REVEAL_JS_VERSION\"" "$prefix/node_modules/reveal.js/package.json"; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "kit: npm is missing, so the slide decks have no reveal.js (apt-get install npm, then bash kit.sh setup)" >&2
        return 0
    fi
    echo "kit: installing reveal.js $REVEAL_JS_VERSION for the slide decks" >&2
    local log
    log="$(mktemp)"
    if ! npm install --prefix "$prefix" --no-save --no-audit --no-fund --omit=dev "reveal.js@$REVEAL_JS_VERSION" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "kit: npm install reveal.js@$REVEAL_JS_VERSION failed (full log above)" >&2
        return 1
    fi
    rm -f "$log"
}

# Lint, as CI runs it before the tests: ruff's rules and its formatting (configured in pyproject.toml).
lint() {
    if ! "$VENV/bin/ruff" check --quiet .; then
        echo "kit: ruff check found the problems above (.venv/bin/ruff check --fix . fixes many)" >&2
        return 1
    fi
    if ! "$VENV/bin/ruff" format --check --quiet .; then
        echo "kit: the files above are not formatted (.venv/bin/ruff format FILE)" >&2
        return 1
    fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
    demo)
        setup
        exec "$VENV/bin/adcourse" demo "$@"
        ;;
    lab)
        setup
        exec "$VENV/bin/adcourse" lab "$@"
        ;;
    lectures)
        setup
        exec "$VENV/bin/python" -m autograder.notebooks "$@"
        ;;
    slides)
        setup
        exec "$VENV/bin/adcourse" slides "$@"
        ;;
    test)
        setup test
        lint
        # Spread over every core (pytest-xdist), unless the arguments choose (-n N, -p no:xdist, --pdb).
        # The fast inner loop: bash kit.sh test -m "not slow".
        parallel=(-n auto)
        for arg in "$@"; do
            case "$arg" in -n* | --numprocesses* | no:xdist | --pdb) parallel=() ;; esac
        done
        exec "$VENV/bin/python" -m pytest ${parallel[@]+"${parallel[@]}"} "$@"
        ;;
    setup)
        setup
        ;;
    *)
        echo "usage: bash kit.sh demo|test|lab|lectures|slides|setup [args]" >&2
        exit 2
        ;;
esac
