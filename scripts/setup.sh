#!/usr/bin/env bash
# Set up everything durableml needs on this machine, idempotently:
#   .venv/          Python 3.11 (or 3.12) venv with `pip install -e .[dev]` (pinned requirements; ray[default] for
#                   the Ray backend tests, which start a real two-node Ray cluster on 127.0.0.1)
#   .venv/checkov/  checkov (requirements-infra.txt) in a venv of its own: its pins (packaging<24, boto3...)
#                   clash with the dev tools; tests/infra/test_bicep.py runs it on infra/
#   node_modules/   Azurite, the storage emulator funchost starts (`npm ci`, version from package-lock.json)
#   Java            java + javac (openjdk 17, apt-get when missing): the loopback Databricks server's Spark
#   SQL servers     PostgreSQL and MariaDB binaries for the SQL-source tests (Debian packages, apt-get only
#                   when their binaries are missing; skipped with a note where apt-get is not available)
# Re-running is quick: pip is skipped while .venv/.durableml-installed holds the hash of its inputs,
# npm while the installed Azurite is the locked version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY_STAMP="$VENV/.durableml-installed"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Prints the real path of a Python 3.11/3.12 interpreter (resolving pyenv shims), or fails.
real_python() {
    "$1" -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)); print(sys.executable)' 2>/dev/null
}

find_python() {
    local candidate found
    for candidate in python3.11 python3.12 python3; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if found="$(real_python "$candidate")" && [ -n "$found" ]; then
            printf '%s\n' "$found"
            return 0
        fi
    done
    return 1
}

# Hash of everything that decides what the venv must contain.
# The editable install is a plain path in a .pth file ("compat"), not setuptools' import hook ("strict"): the
# hook's finder imports pathlib, re, urllib.parse... in every interpreter that starts from the venv, which
# took Python's start-up from 11.5 to 27 ms (measured: docs/benchmarks.md, "editable_mode=compat"), paid by
# every step script, compute worker and host. The price: the repository root is on sys.path after
# site-packages, so its top-level folders (tests, bench...) are importable from this venv.
EDITABLE_MODE=compat

python_inputs_hash() {
    {
        cat pyproject.toml requirements.txt requirements-dev.txt requirements-infra.txt
        printf '%s\n' "$ROOT" "$EDITABLE_MODE"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

setup_venv() {
    if [ -x "$VENV/bin/python" ] && real_python "$VENV/bin/python" >/dev/null; then
        return 0
    fi
    local python
    python="$(find_python)" || die "Python 3.11 or 3.12 is required (tried python3.11, python3.12, python3); install one and re-run"
    if [ -e "$VENV" ]; then
        say "replacing broken or wrong-version venv at $VENV"
        rm -rf "$VENV"
    fi
    say "creating $VENV with $python"
    "$python" -m venv "$VENV" || die "could not create $VENV (on Debian/Ubuntu: apt-get install python3.11-venv)"
}

install_python_packages() {
    local want
    want="$(python_inputs_hash)"
    if [ -f "$PY_STAMP" ] && [ "$(cat "$PY_STAMP")" = "$want" ] && [ -x "$VENV/checkov/bin/checkov" ]; then
        return 0
    fi
    say "installing Python packages into $VENV (pip install -e .[dev], editable_mode=$EDITABLE_MODE)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        -r requirements-dev.txt -e ".[dev]" --config-settings "editable_mode=$EDITABLE_MODE" \
        || die "pip install failed; see the messages above (is PyPI reachable?)"
    install_checkov
    printf '%s\n' "$want" > "$PY_STAMP"
}

# checkov for the offline infra checks, in its own venv inside .venv (so it goes when .venv is replaced).
install_checkov() {
    local venv="$VENV/checkov"
    if [ ! -x "$venv/bin/python" ]; then
        "$VENV/bin/python" -m venv "$venv" || die "could not create $venv"
    fi
    say "installing checkov into $venv (requirements-infra.txt)"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r requirements-infra.txt \
        || die "pip install -r requirements-infra.txt failed; see the messages above (is PyPI reachable?)"
}

# The Azurite version package-lock.json pins, and the one installed (empty when none).
azurite_versions() {
    node -e '
        const fs = require("fs");
        const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
        let have = "";
        try { have = require("./node_modules/azurite/package.json").version; } catch (e) {}
        console.log(lock.packages["node_modules/azurite"].version + " " + have);'
}

# The packages package.json names whose installed version is not the one package-lock.json pins (one a line).
node_packages_stale() {
    node -e '
        const fs = require("fs");
        const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
        const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
        for (const name of Object.keys({...pkg.dependencies, ...pkg.devDependencies})) {
            let have = "";
            try { have = JSON.parse(fs.readFileSync("node_modules/" + name + "/package.json", "utf8")).version; }
            catch (e) {}
            if (have !== lock.packages["node_modules/" + name].version) console.log(name);
        }'
}

install_node_packages() {
    command -v node >/dev/null 2>&1 || die "Node.js is required for Azurite (node not on PATH); install Node 18+ and re-run"
    local stale
    stale="$(node_packages_stale)" || die "could not read package.json / package-lock.json"
    if [ -x node_modules/.bin/azurite ] && [ -z "$stale" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is required to install Azurite (npm not on PATH)"
    say "installing node packages (npm ci): $(echo $stale)"
    npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed; see the messages above (is the npm registry reachable?)"
    [ -x node_modules/.bin/azurite ] || die "npm finished but node_modules/.bin/azurite is missing"
}

# The studio's libraries (studio/vendor, served by the app and shipped in the deployment artifact).
build_studio_assets() {
    "$VENV/bin/python" -m durableml.studio_assets || die "could not copy the studio's libraries into studio/vendor"
}

# Chromium for the studio's browser tests (playwright drives /usr/bin/chromium; its own browser downloads are
# not used). Nothing is installed when a chromium binary is there.
install_chromium() {
    command -v chromium >/dev/null 2>&1 && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        say "note: chromium not installed and apt-get is not available; the studio browser tests will fail"
        return 0
    fi
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "installing chromium (apt-get)"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium fonts-liberation >/dev/null \
        || die "apt-get install chromium failed; see the messages above"
}

# PostgreSQL (postgres + initdb) and MariaDB (mariadbd + mariadb-install-db): the tests start their own
# servers in temp dirs on loopback (tests/sql_servers.py). Nothing is installed when the binaries are there.
install_sql_servers() {
    local missing=()
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 \
        || missing+=(postgresql)
    { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } \
        && command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server-core mariadb-client-core)
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        say "note: ${missing[*]} not installed and apt-get is not available; the SQL-source tests will fail"
        return 0
    fi
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "installing ${missing[*]} (apt-get)"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null || die "apt-get install ${missing[*]} failed; see the messages above"
}

# Java (java for pyspark's local Spark, javac for the DatabricksStep JAR test): the loopback Databricks server
# (durableml/devtools) runs tasks with spark-submit. Nothing is installed when javac is there.
install_java() {
    command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1 && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        say "note: Java (javac) not installed and apt-get is not available; the DatabricksStep tests will fail"
        return 0
    fi
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "installing openjdk-17-jdk-headless (apt-get)"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        openjdk-17-jdk-headless >/dev/null || die "apt-get install openjdk-17-jdk-headless failed"
}

setup_venv
install_python_packages
install_sql_servers
install_java
install_node_packages
build_studio_assets
install_chromium
say "ready: $VENV/bin/python ($("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')), $(azurite_versions | cut -d' ' -f2 | sed 's/^/azurite /')"
