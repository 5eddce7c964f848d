# Sourced by the Quickstart scripts: create .venv with Python 3.11+ and install the project into it.
# Re-running is cheap: pip only reinstalls when pyproject.toml changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "reconciler needs Python 3.11 or newer (found: $("$py" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
venv="$root/.venv"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing reconciler and its dependencies into .venv (once; log: .venv/install.log)" >&2
  log="$venv/install.log"
  if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
         "$venv/bin/python" -m pip install --disable-pip-version-check -e "$root[test]"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "installation failed; the full log is $log" >&2
    exit 1
  fi
  rm -f "$venv"/.installed-*; touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
