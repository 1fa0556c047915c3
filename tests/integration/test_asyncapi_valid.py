"""The AsyncAPI document passes the reference parser: npm's @asyncapi/parser, run by Node.

`deploy/local/asyncapi.sh` installs the pinned parser into the cache outside the repo (a no-op once
done) and validates. Without Node the test is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts import export

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local" / "asyncapi.sh"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # A cold install fetches ~150 packages through npm; give it room, but not forever.
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.fixture(scope="module", autouse=True)
def parser_installed() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        msg = f"{' and '.join(missing)} not found: the AsyncAPI parser runs on Node.js 18+ with npm"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    done = _run("install")
    assert done.returncode == 0, f"asyncapi.sh install failed:\n{done.stdout}{done.stderr}"


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return _run("validate", str(path))


def test_committed_document_is_valid() -> None:
    done = _validate(ROOT / "contracts" / "asyncapi.yaml")
    assert done.returncode == 0, f"the parser rejects contracts/asyncapi.yaml:\n{done.stdout}{done.stderr}"
    assert "is valid AsyncAPI 3.0.0" in done.stdout


def test_freshly_generated_document_is_valid(tmp_path: Path) -> None:
    # Catches a generator change that breaks the document before anyone regenerates the copy.
    export.export(tmp_path)
    done = _validate(tmp_path / "asyncapi.yaml")
    assert done.returncode == 0, f"the parser rejects a fresh export:\n{done.stdout}{done.stderr}"


def test_the_parser_does_reject_an_invalid_document(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text('asyncapi: "3.0.0"\ninfo:\n  title: no version\n')
    done = _validate(broken)
    assert done.returncode == 1
    assert "error" in done.stdout and '"version"' in done.stdout
