# Sourced by scripts/run and scripts/test: a Python 3.11 virtualenv in .venv with $1 installed.
find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 is required (python3.11 not found)" >&2; return 1
}

ensure_venv() {
  local requirements=$1
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
  fi
  # Reinstall only when the requirements changed since the last install.
  local stamp=.venv/.installed-$(basename "$requirements")
  if [ ! -f "$stamp" ] || ! cmp -s <(cat requirements*.txt) "$stamp"; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cat requirements*.txt > "$stamp"
  fi
}
