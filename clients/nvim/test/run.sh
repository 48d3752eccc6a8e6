#!/usr/bin/env bash
# Runs the plugin's headless test against a built daemon:
#   SEGSLIMD=/path/to/segslimd clients/nvim/test/run.sh
# Needs nvim (0.7 or later) on PATH. Exits non-zero on the first failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugin="$(dirname "$here")"
repo="$(cd "$plugin/../.." && pwd)"

if [[ -z "${SEGSLIMD:-}" ]]; then
    echo "nvim-tests: SEGSLIMD is not set (point it at a built segslimd)" >&2
    exit 2
fi
if [[ ! -x "$SEGSLIMD" ]]; then
    echo "nvim-tests: SEGSLIMD=$SEGSLIMD is not an executable file" >&2
    exit 2
fi
if ! command -v nvim >/dev/null; then
    echo "nvim-tests: nvim is not on PATH (Debian: apt-get install neovim)" >&2
    exit 2
fi
SEGSLIMD="$(cd "$(dirname "$SEGSLIMD")" && pwd)/$(basename "$SEGSLIMD")"
export SEGSLIMD SEGSLIM_REPO="$repo"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export SEGSLIM_TEST_TMP="$tmp/work"
mkdir -p "$SEGSLIM_TEST_TMP"
# Keep the user's config, shada and logs out of it.
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"

nvim --version | head -1
# The script quits by itself; the timeout is the last resort should Neovim itself hang.
cd "$tmp"
run_nvim() {
    timeout 1800 nvim --headless -u NONE -i NONE -n --cmd "set rtp^=$plugin" -c "luafile $1" </dev/null
}
summary() { # the closing line CI reads: N passed, N failed
    local n=0
    [[ -f "$SEGSLIM_TEST_TMP/passed" ]] && n="$(cat "$SEGSLIM_TEST_TMP/passed")"
    echo "nvim: $((n + $1)) passed, $2 failed"
}
if ! run_nvim "$here/test_segslim.lua"; then
    summary 0 1
    exit 1
fi

if ! run_nvim "$here/test_quit.lua"; then
    summary 0 1
    exit 1
fi
pid="$(cat "$SEGSLIM_TEST_TMP/daemon.pid")"
for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL [quit] segslimd (pid $pid) still runs 30 s after Neovim quit" >&2
    kill "$pid" 2>/dev/null || true
    summary 0 1
    exit 1
fi
echo "ok   segslimd ended when Neovim quit"
summary 1 0
