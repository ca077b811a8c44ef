#!/usr/bin/env bash
# `make install`: put `auralis` on PATH for this user, from this checkout (not editable).
# With pipx: `pipx install`. Without: a private virtualenv in $PREFIX/lib/auralis and a link in
# $PREFIX/bin (PREFIX defaults to ~/.local, which most distributions already have on PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
prefix=${1:-$HOME/.local}

if command -v pipx >/dev/null 2>&1; then
  exec pipx install --force .
fi
python=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "auralis: Python 3.11 or newer is required: sudo apt-get install python3 python3-venv" >&2
  exit 1
fi
venv="$prefix/lib/auralis"
"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q .
mkdir -p "$prefix/bin"
ln -sf "$venv/bin/auralis" "$prefix/bin/auralis"
echo "installed $prefix/bin/auralis"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" >&2 ;;
esac
