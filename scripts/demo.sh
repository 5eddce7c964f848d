#!/usr/bin/env bash
# Quickstart command 1: install into .venv and run the main job on the bundled example fleet.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec reconciler demo "$@"
