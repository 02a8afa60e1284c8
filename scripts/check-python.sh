#!/bin/sh
# Checks, before `make` creates .venv, that the Python it will use is 3.11 or newer and can
# create virtualenvs; says what to do otherwise.  POSIX sh on purpose: it must run before
# anything is installed, whatever the machine.
# Usage: scripts/check-python.sh PYTHON   (what `make … PYTHON=…` names; default python3)
set -eu
py="${1:-python3}"
need="3.11"

if ! command -v "$py" >/dev/null 2>&1; then
  echo "make: '$py' not found. This project needs Python $need or newer:" >&2
  echo "      install it (Debian/Ubuntu: apt install python3 python3-venv; macOS: brew install python@3.12)" >&2
  echo "      or name one: make run PYTHON=/path/to/python3.12" >&2
  exit 1
fi

version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || version=""
case "$version" in
  [0-9]*.[0-9]*) ;;
  *) echo "make: could not ask '$py' for its version; is it a Python interpreter?" >&2; exit 1 ;;
esac
major=${version%%.*}
minor=${version#*.}
if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
  echo "make: Python $need or newer is needed; '$py' is Python $version." >&2
  echo "      Install a newer one and name it: make run PYTHON=python3.12  (pyenv, deadsnakes, brew…)" >&2
  exit 1
fi

# Debian and Ubuntu split `venv` out of the interpreter package.
if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "make: '$py' (Python $version) cannot create virtualenvs: the venv module is missing." >&2
  echo "      Debian/Ubuntu: apt install python3-venv (or python$version-venv)" >&2
  exit 1
fi
echo "make: using $py (Python $version)"
