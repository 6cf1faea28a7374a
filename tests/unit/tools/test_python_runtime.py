"""One declared Python runtime: what production selects is what we vendor for and test on.

Ties together the Worker configs' compatibility date and flags (every environment), the
release workerd selects from them, the host's `pyodide` npm version, the vendored wheels'
Python/ABI/platform tags, requirements-worker.txt and the workerd version the facts come from.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rs1tools.python_runtime import (
    RELEASES,
    WORKERD_VERSION,
    declared,
    production_release,
    selected_release,
)

ROOT = Path(__file__).resolve().parents[3]
MODULES = ROOT / "python_modules"
LOCK = json.loads((ROOT / "package-lock.json").read_text())["packages"]
PY314 = next(r for r in RELEASES if r.pyodide == "314.0.4")
PY313 = next(r for r in RELEASES if r.pyodide == "0.28.2")


def test_every_config_and_environment_declares_pyodide_314() -> None:
    selections = declared(ROOT)
    assert len(selections) >= 6  # three configs, each with [env.production]
    assert set(selections.values()) == {PY314}, selections
    assert production_release(ROOT) == PY314


@pytest.mark.parametrize(
    "date,flags,expected",
    [
        # What shipped before: the date alone implied 0.28.2 (CPython 3.13).
        ("2026-08-20", ["python_workers"], PY313),
        ("2026-08-20", ["python_workers", "python_workers_20260610"], PY314),
        ("2026-08-25", ["python_workers"], PY314),
        ("2026-08-25", ["python_workers", "no_python_workers_20260610"], PY313),
        ("2025-09-28", ["python_workers"], None),
    ],
)
def test_workerds_selection_rule(date: str, flags: list[str], expected) -> None:
    assert selected_release(date, flags) == expected


def test_the_facts_are_for_the_workerd_we_pin() -> None:
    """Bumping workerd means re-reading compatibility-date.capnp and python_metadata.bzl."""
    assert LOCK["node_modules/workerd"]["version"] == WORKERD_VERSION


def test_the_compatibility_date_is_not_after_workerds_release() -> None:
    release_date = WORKERD_VERSION.split(".")[1]  # 1.YYYYMMDD.n
    for config in ROOT.glob("wrangler*.toml"):
        date = re.search(r'^compatibility_date = "([\d-]+)"', config.read_text(), re.M)
        assert date and date.group(1).replace("-", "") <= release_date, config.name


def test_the_local_host_runs_the_declared_pyodide() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    assert package["dependencies"]["pyodide"] == PY314.pyodide
    assert LOCK["node_modules/pyodide"]["version"] == PY314.pyodide


def _wheel_tags() -> dict[str, list[str]]:
    tags = {}
    for wheel in MODULES.glob("*.dist-info/WHEEL"):
        lines = wheel.read_text().splitlines()
        tags[wheel.parent.name] = [ln.split(": ", 1)[1] for ln in lines if ln.startswith("Tag:")]
    return tags


def test_vendored_wheels_are_built_for_the_declared_python() -> None:
    tags = _wheel_tags()
    assert tags, "python_modules/ is empty: run `make setup`"
    native = f"{PY314.abi}-{PY314.abi}-{PY314.platform}"
    for dist, wheel_tags in tags.items():
        assert all(t == native or t.endswith("-none-any") for t in wheel_tags), (dist, wheel_tags)
    assert any(native in t for t in tags.values()), "no extension module at all? (pydantic_core)"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_requirements_worker_pins_are_what_is_vendored() -> None:
    text = (ROOT / "requirements-worker.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", text, re.M))
    vendored = {}
    for metadata in MODULES.glob("*.dist-info/METADATA"):
        fields = dict(
            ln.split(": ", 1) for ln in metadata.read_text().splitlines()[:10] if ": " in ln
        )
        vendored[_canonical(fields["Name"])] = fields["Version"]
    assert pins and {_canonical(n): v for n, v in pins.items()}.items() <= vendored.items()


def test_setup_vendors_for_the_declared_runtime() -> None:
    args = subprocess.run(
        [sys.executable, "-m", "rs1tools.python_runtime", "pip-args"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "scripts")},
    ).stdout.strip()
    assert args == (MODULES / ".rs1-runtime").read_text().strip()
    assert f"--abi {PY314.abi}" in args and PY314.platform in args
