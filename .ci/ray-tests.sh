#!/usr/bin/env bash
# Runs segslim.ray's tests (clients/python/test_segslim_ray.py) on a local Ray cluster of two
# CPUs, against a built daemon. Builds nothing. Makes (once) a venv, .venv-ray, with the Ray
# pinned in clients/python/requirements-ray.txt; the base client's tests need no venv.
#   SEGSLIMD=/path/to/segslimd bash .ci/ray-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${SEGSLIMD:-}" || ! -x "${SEGSLIMD:-}" ]]; then
    echo "ray-tests: SEGSLIMD='${SEGSLIMD:-}' is not an executable file (point it at a built segslimd)" >&2
    exit 2
fi
SEGSLIMD="$(cd "$(dirname "$SEGSLIMD")" && pwd)/$(basename "$SEGSLIMD")"
export SEGSLIMD PYTHONDONTWRITEBYTECODE=1
venv=.venv-ray
requirements=clients/python/requirements-ray.txt
# Reinstall only when the pin changed: the stamp holds the requirements the venv was made from.
if ! cmp -s "$requirements" "$venv/.requirements" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
fi
# The tests shut their cluster down; `ray stop` ends whatever a killed run left behind.
trap '"$venv/bin/ray" stop >/dev/null 2>&1 || true' EXIT
"$venv/bin/python" -m unittest clients/python/test_segslim_ray.py -v
