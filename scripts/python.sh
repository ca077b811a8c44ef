# Sourced by bootstrap.sh and install.sh: sets $python to the first interpreter on PATH that is
# Python 3.11 or newer, or stops with the line that installs one.
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
