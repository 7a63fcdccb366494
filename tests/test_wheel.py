"""The built wheel and sdist, installed outside the checkout, do what a newcomer tries first.

One build per run; the wheel goes into a fresh virtualenv in a temporary folder (its dependencies from the
package index, as a user's would), where ``statewright demo``, ``init`` and ``lint`` run in an empty folder.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _run(*command: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist, built from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", out, ROOT, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout with the wheel installed; its bin folder."""
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    (wheel,) = dist.glob("statewright-*.whl")
    _run(where / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=where)
    return where / "bin"


def test_twine_accepts_the_wheel_and_the_sdist(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert sorted(path.suffix for path in files) == [".gz", ".whl"]
    done = _run(sys.executable, "-m", "twine", "check", "--strict", *files, cwd=dist)
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_installed_wheel_runs_the_demo_in_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    done = _run(installed / "statewright", "demo", "--documents", "3", cwd=tmp_path)
    assert "Browse it: statewright admin --machines statewright-demo/document.yaml" in " ".join(done.stdout.split())


def test_the_installed_wheel_starts_a_project_that_lints_and_runs(installed: Path, tmp_path: Path) -> None:
    _run(installed / "statewright", "init", "shop", cwd=tmp_path)
    project = tmp_path / "shop"
    lint = _run(installed / "statewright", "lint", "--resolve", "machines/", cwd=project)
    assert lint.stdout.strip() == "1 machine file is clean."
    ran = _run(installed / "python", "-m", "app.app", cwd=project)
    assert "'resolve -> resolved'" in ran.stdout
