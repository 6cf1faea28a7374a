"""Each Worker's production config deploys (offline: `wrangler deploy --dry-run`)."""

import subprocess

import pytest

from rs1tools.localstack import ROOT, tool_env

CONFIGS = {
    "wrangler.toml": (
        "rs1-device-api",
        ["env.DB (rs1-production)", "env.SESSIONS", "env.R2 (rs1-storage)"],
    ),
    "wrangler.ota.toml": (
        "rs1-ota",
        ["env.DB (rs1-production)", "env.FIRMWARE (rs1-firmware)", 'env.SIGNED_URL_EXPIRY ("900")'],
    ),
    "wrangler.telemetry.toml": (
        "rs1-telemetry",
        [
            "env.DB (rs1-production)",
            "env.ARCHIVES (rs1-telemetry-archives)",
            "env.BACKUPS (rs1-backups)",
        ],
    ),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_production_dry_run_deploy_succeeds(config: str, tmp_path) -> None:
    result = subprocess.run(
        ["npx", "wrangler", "deploy", "--dry-run", "--env", "production", "-c", config]
        + ["--outdir", str(tmp_path)],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "--dry-run: exiting now." in out
    assert 'env.ENVIRONMENT ("production")' in out
    for binding in CONFIGS[config][1]:
        assert binding in out, binding
