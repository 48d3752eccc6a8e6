#!/usr/bin/env bash
# The browser app's end-to-end test (clients/web/test/test_web_e2e.py) in headless Chromium,
# against a built daemon. Builds nothing.
#   SEGSLIMD=/path/to/segslimd .ci/web-tests.sh [--screenshots DIR] [--scale 0.6]
# A fresh machine gets what the test needs: Debian's chromium and chromium-driver (apt, as
# root, non-interactive) when either is missing, and Selenium in clients/web/test/.venv from
# the pinned clients/web/test/requirements.txt (reinstalled only when the pins change).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${SEGSLIMD:-}" ]]; then
    echo "web-tests: SEGSLIMD is not set (point it at a built segslimd)" >&2
    exit 2
fi
if [[ ! -x "$SEGSLIMD" ]]; then
    echo "web-tests: SEGSLIMD=$SEGSLIMD is not an executable file" >&2
    exit 2
fi
SEGSLIMD="$(cd "$(dirname "$SEGSLIMD")" && pwd)/$(basename "$SEGSLIMD")"
export SEGSLIMD

if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
    echo "== web-tests: installing chromium and chromium-driver (apt)"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo > /dev/null; then sudo=(sudo -n); else
            echo "web-tests: chromium/chromedriver missing and not root: apt-get install chromium chromium-driver" >&2
            exit 2
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq < /dev/null
    "${sudo[@]}" apt-get install -y -qq chromium chromium-driver fonts-dejavu-core < /dev/null > /dev/null
fi

venv=clients/web/test/.venv
requirements=clients/web/test/requirements.txt
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" < /dev/null
    echo "$want" > "$stamp"
fi
echo "== web-tests: $(chromium --version 2>/dev/null | head -1), selenium $("$venv/bin/python" -c 'import selenium; print(selenium.__version__)')"
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" clients/web/test/test_web_e2e.py "$@"
