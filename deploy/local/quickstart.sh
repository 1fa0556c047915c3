#!/usr/bin/env bash
# The README's first command: set up, start the real servers, run the service with a short demo.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bash deploy/local/setup.sh
bash deploy/local/stack.sh up
export LUNA_LOG__JSON_LINES="${LUNA_LOG__JSON_LINES:-false}"
exec .venv/bin/luna-admin run --demo "$@"
