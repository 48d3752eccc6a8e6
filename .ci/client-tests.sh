#!/usr/bin/env bash
# Runs the Python client's tests against a built daemon. Builds nothing.
#   SEGSLIMD=/path/to/segslimd .ci/client-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${SEGSLIMD:-}" ]]; then
    echo "client-tests: SEGSLIMD is not set (point it at a built segslimd)" >&2
    exit 2
fi
if [[ ! -x "$SEGSLIMD" ]]; then
    echo "client-tests: SEGSLIMD=$SEGSLIMD is not an executable file" >&2
    exit 2
fi
SEGSLIMD="$(cd "$(dirname "$SEGSLIMD")" && pwd)/$(basename "$SEGSLIMD")"
export SEGSLIMD
export PYTHONDONTWRITEBYTECODE=1
exec python3 -m unittest discover -s clients/python -v
