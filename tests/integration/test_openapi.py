"""schema/openapi.json against the running device API.

One bounded schemathesis run (every documented operation, a fixed seed, a few examples each):
no 5xx, every status documented, every body valid against the documented schema. Then a real
user flow, whose success bodies must validate against the same (strict) response models.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rs1.admin import models as am
from rs1.api import models as m
from rs1.identity.claim import claim_code
from rs1tools.devvars import ROOT
from rs1tools.sessions import bearer

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
# Operations that end the fuzzer's own session (it links GET /api/auth/session's jti to them).
SELF_ENDING = ("/api/auth/logout", "/admin/sessions/{jti}")
MAX_EXAMPLES = 8


def test_schemathesis_finds_no_server_errors_or_schema_violations(system, user_token) -> None:
    if system.state_dir is None and not os.environ.get("RS1_FUZZ_EXTERNAL"):
        pytest.skip("fuzzes with an admin token (it enrols, uploads, aborts): RS1_FUZZ_EXTERNAL=1")
    token = user_token("schemathesis", "admin")
    command = [str(Path(sys.executable).parent / "st"), "run", str(ROOT / "schema/openapi.json")]
    command += ["--url", system.urls["device_api"], "-H", f"Authorization: Bearer {token}"]
    command += ["--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", "20261122"]
    command += ["--workers", "1", "--generation-database", "none", "--no-color"]
    for path in SELF_ENDING:
        command += ["--exclude-path", path]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-2_000:]
    assert "Failures" not in done.stdout or "0 failures" in done.stdout


def test_a_user_flow_matches_the_response_models(
    device_api: httpx.Client, admin: httpx.Client, enroll, user_token
) -> None:
    device = enroll()
    me = device["device_id"]
    am.Enrolled.model_validate(device)
    owner = bearer(user_token("model-owner"))
    claim = {"device_id": me, "claim_code": claim_code(device["device_secret"])}
    m.Claimed.model_validate(
        device_api.post("/api/devices/claim", json=claim, headers=owner).json()
    )
    m.SessionInfo.model_validate(device_api.get("/api/auth/session", headers=owner).json())
    m.DeviceList.model_validate(device_api.get("/api/devices", headers=owner).json())
    m.DeviceDetail.model_validate(device_api.get(f"/api/devices/{me}", headers=owner).json())
    zones = {"zones": [{"name": "bed", "vertices": [[-600, 900], [600, 900], [0, 2000]]}]}
    put = device_api.put(f"/api/devices/{me}/zones", json=zones, headers={**owner, "if-match": "0"})
    m.ZonesWritten.model_validate(put.json())
    m.ZonesView.model_validate(device_api.get(f"/api/devices/{me}/zones", headers=owner).json())
    share = device_api.post(f"/api/devices/{me}/share", json={"user_id": "v"}, headers=owner)
    m.Shared.model_validate(share.json())
    now = int(time.time() * 1000)
    telemetry = device_api.get(f"/api/devices/{me}/telemetry?to={now}", headers=owner)
    m.TelemetryPage.model_validate(telemetry.json())
    m.Health.model_validate(device_api.get("/api/health").json())
    am.Fleet.model_validate(admin.get("/admin/fleet").json())
    am.DeviceRecord.model_validate(admin.get(f"/admin/devices/{me}").json())
    am.DeviceSearch.model_validate(
        admin.get("/admin/devices", params={"owner": "model-owner"}).json()
    )
    am.DiagAccepted.model_validate(admin.post(f"/admin/devices/{me}/diag", json={}).json())
    am.StatusChanged.model_validate(admin.post(f"/admin/devices/{me}/revoke").json())
    am.FirmwareList.model_validate(admin.get("/admin/firmware").json())
    am.RolloutList.model_validate(admin.get("/admin/rollouts").json())
    am.AlertList.model_validate(admin.get("/admin/alerts?status=all").json())
