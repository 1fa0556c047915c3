#!/usr/bin/env bash
# The README's second command: set up, start the real servers, run the whole test suite.
# Under CI=true the servers this script started are stopped again at the end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bash deploy/local/setup.sh
if [ "${CI:-}" = "true" ]; then
  trap 'bash deploy/local/stack.sh down' EXIT
fi
bash deploy/local/stack.sh up
.venv/bin/ruff check .
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exits 5 when it collected no test: that is a failure of this suite, not a pass.
if [ $rc -eq 5 ]; then echo "no tests were collected" >&2; fi
exit $rc
