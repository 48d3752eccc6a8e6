#!/usr/bin/env bash
# Runs the Neovim plugin's headless test against a built daemon. Builds nothing; installs
# Debian's neovim when nvim is missing.
#   SEGSLIMD=/path/to/segslimd .ci/nvim-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${SEGSLIMD:-}" ]]; then
    echo "nvim-tests: SEGSLIMD is not set (point it at a built segslimd)" >&2
    exit 2
fi
if [[ ! -x "$SEGSLIMD" ]]; then
    echo "nvim-tests: SEGSLIMD=$SEGSLIMD is not an executable file" >&2
    exit 2
fi
if ! command -v nvim >/dev/null; then
    echo "== installing neovim (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends neovim >/dev/null
fi
exec bash clients/nvim/test/run.sh
