"""Which Python production runs, as workerd decides it from a Worker's compatibility settings.

Facts from workerd at the version our lockfile pins (npm `workerd` 1.20260820.1, tag
v1.20260820.1): `src/workerd/io/compatibility-date.capnp` and `build/python_metadata.bzl`.
workerd enables every flag a Worker names or its compatibility date implies, and loads the
Pyodide release of the enabled `$pythonSnapshotRelease` flag with the highest ordinal
(`getPythonSnapshotRelease`). Re-read both files whenever the lockfile's workerd changes: a
test fails until this table names that version.
"""

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

WORKERD_VERSION = "1.20260820.1"


@dataclass(frozen=True)
class Release:
    flag: str  # the compat flag that selects it
    ordinal: int  # its field number in compatibility-date.capnp (higher wins)
    implied_after: str | None  # `python_workers` implies it from this compatibility date on
    pyodide: str
    python: str
    bundle: str  # the runtime bundle workerd fetches: pyodide_<bundle>.capnp.bin
    platform: str  # the wheel platform tag of its packages (PEP 783)

    @property
    def abi(self) -> str:
        """The wheel tag of CPython extension modules built for it (cp314)."""
        major, minor = self.python.split(".")[:2]
        return f"cp{major}{minor}"


RELEASES = (
    Release(
        "python_workers_20250116",
        71,
        "2025-09-29",
        "0.28.2",
        "3.13.2",
        "0.28.2_2025-01-16_15",
        "pyodide_2025_0_wasm32",
    ),
    Release(
        "python_workers_20260610",
        179,
        "2026-08-25",
        "314.0.4",
        "3.14.2",
        "314.0.4_2026-06-10_15",
        "pyemscripten_2026_0_wasm32",
    ),
)
# Python Workers' own flag: with no release flag enabled workerd would load the 0.26 era
# runtime, which our wheels are not built for.
BASE_FLAG = "python_workers"


def selected_release(compatibility_date: str, flags: list[str]) -> Release | None:
    """The release workerd loads for a Worker, or None when no release flag is enabled."""
    enabled = []
    for release in RELEASES:
        named = release.flag in flags
        implied = (
            BASE_FLAG in flags
            and release.implied_after is not None
            and compatibility_date >= release.implied_after
        )
        if (named or implied) and f"no_{release.flag}" not in flags:
            enabled.append(release)
    return max(enabled, key=lambda r: r.ordinal, default=None)


CONFIGS = ("wrangler.toml", "wrangler.ota.toml", "wrangler.telemetry.toml")


def declared(root: Path) -> dict[str, Release | None]:
    """The release each Worker config (and each of its environments) selects."""
    out: dict[str, Release | None] = {}
    for name in CONFIGS:
        config = tomllib.loads((root / name).read_text())
        envs = {
            "": config,
            **{f"env.{k}": {**config, **v} for k, v in config.get("env", {}).items()},
        }
        for env, values in envs.items():
            flags = list(values.get("compatibility_flags", []))
            out[f"{name} {env}".strip()] = selected_release(values["compatibility_date"], flags)
    return out


def production_release(root: Path) -> Release:
    """The one release every config selects (ValueError when they disagree or select none)."""
    releases = set(declared(root).values())
    only = next(iter(releases)) if len(releases) == 1 else None
    if only is None:
        raise ValueError(f"the Worker configs select different Python runtimes: {releases}")
    return only


def main() -> None:
    """`python -m rs1tools.python_runtime pip-args`: the pip flags that vendor wheels for it."""
    release = production_release(Path(__file__).resolve().parents[2])
    if sys.argv[1:] == ["pip-args"]:
        version = ".".join(release.python.split(".")[:2])
        print(f"--platform {release.platform} --python-version {version} "
              f"--implementation cp --abi {release.abi}")  # fmt: skip
    else:
        print(f"Pyodide {release.pyodide} (CPython {release.python}) via {release.flag}")


if __name__ == "__main__":
    main()
