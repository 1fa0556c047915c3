#!/usr/bin/env bash
# Creates .venv with the project and its dev tools; fast when nothing changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi
# Test photos only (six different people in insightface/data/images/t1.jpg): the pure-Python 2.1
# wheel is installed without its dependencies, which the tests never import.
.venv/bin/python -c 'import importlib.metadata as m; assert m.version("insightface") == "2.1"' 2>/dev/null \
  || .venv/bin/python -m pip install -q --no-deps insightface==2.1
