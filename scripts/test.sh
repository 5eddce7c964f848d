#!/usr/bin/env bash
# Quickstart command 2: install into .venv and run the whole test suite.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec python -m pytest "$@"
