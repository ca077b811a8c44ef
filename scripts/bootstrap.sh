#!/usr/bin/env bash
# Idempotent set-up from a clean clone: system libraries, virtualenv, editable install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "bootstrap: $*" >&2; }

source scripts/python.sh  # sets $python

missing=()
ldconfig -p 2>/dev/null | grep -q 'libportaudio\.so\.2' || missing+=(libportaudio2)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v mpc >/dev/null 2>&1 || missing+=(mpc)  # the MPD frontend's tests drive the real client
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "auralis: please install the system packages: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $python"
  "$python" -m venv .venv
fi
stamp=.venv/.installed-stamp
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing auralis-tui and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

# The test suite runs the engine on a small real-music subset (Debian's lincity-ng-data, cached
# outside the repository). Fetch it now; if that fails the real-music tests fail with the reason.
if ! .venv/bin/python scripts/realmusic.py --subset; then
  say "warning: the real-music subset could not be fetched; tests/test_realmusic.py will fail"
fi
