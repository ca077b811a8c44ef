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
source scripts/python.sh  # sets $python
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
