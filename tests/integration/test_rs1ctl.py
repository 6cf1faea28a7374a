"""bin/rs1ctl as ops run it, a subprocess against the running system (RS1_API_URL +
RS1_TOKEN): every command group with --json, asserting on the parsed output and exit codes.

Routes of issue 16 that the system does not serve yet (an unknown route: 404 "No route")
skip, naming the route, and run once it lands.
"""

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import ROOT, FirmwareKeys, envelope, random_mac

RS1CTL = ROOT / "bin" / "rs1ctl"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines()]


Ctl = Callable[..., Run]


@pytest.fixture(scope="module")
def ctl(system, admin: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Ctl:
    """`ctl(*args, env={...})`: bin/rs1ctl with the admin session and a private config."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RS1_", "RS1CTL_"))}
    base |= {
        "RS1_API_URL": system.urls["device_api"],
        "RS1_TOKEN": admin.headers["authorization"].split()[1],
        "RS1CTL_CONFIG": str(tmp_path_factory.mktemp("rs1ctl") / "profiles.json"),
        "COLUMNS": "200",
    }

    def run(*args: str, env: dict[str, str | None] | None = None, timeout: float = 120) -> Run:
        merged = {**base, **(env or {})}
        clean = {k: v for k, v in merged.items() if v is not None}
        done = subprocess.run(
            [str(RS1CTL), *args],
            env=clean,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def served(admin: httpx.Client, path: str) -> None:
    """Skip unless the system routes GET `path` (the server side may not have landed yet)."""
    answer = admin.get(path)
    unrouted = answer.status_code == 404 and answer.json().get("message", "").startswith("No route")
    if unrouted:
        pytest.skip(f"the system does not serve GET {path} yet")


def enrolled(ctl: Ctl, model: str | None = None) -> dict[str, Any]:
    args = ["devices", "enroll", random_mac(), "--json", *(["--model", model] if model else [])]
    result = ctl(*args)
    assert result.code == 0, result.stderr
    return result.json


# ---- tokens and profiles -----------------------------------------------------------------


def test_token_mints_a_working_session(ctl: Ctl, system) -> None:
    if system.state_dir is None:
        pytest.skip("mints into the local state directory")
    minted = ctl(
        "token",
        "--role",
        "admin",
        "--sub",
        "itest",
        "--ttl",
        "600",
        "--state-dir",
        str(system.state_dir),
        "--json",
    )
    assert minted.code == 0, minted.stderr
    token = minted.json["token"]
    assert ctl("fleet", "status", "--json", env={"RS1_TOKEN": token}).code == 0
    plain = ctl("token", "--state-dir", str(system.state_dir))
    assert plain.code == 0 and plain.stdout.strip().count(".") == 2  # just the JWT


def test_login_saves_the_profile_and_bad_tokens_are_exit_4(ctl: Ctl, system, admin) -> None:
    token = admin.headers["authorization"].split()[1]
    api = system.urls["device_api"]
    logged = ctl(
        "--profile",
        "itest",
        "--api",
        api,
        "login",
        "--token",
        token,
        "--json",
        env={"RS1_API_URL": None},
    )
    assert logged.code == 0, logged.stderr
    assert logged.json["role"] == "admin" and logged.json["api"] == api
    saved = ctl(
        "--profile",
        "itest",
        "fleet",
        "status",
        "--json",
        env={"RS1_API_URL": None, "RS1_TOKEN": None},
    )
    assert saved.code == 0, saved.stderr
    bad = ctl("fleet", "status", "--json", env={"RS1_TOKEN": "not-a-token"})
    assert bad.code == 4 and bad.json["error"] and bad.json["request_id"]
    refused = ctl("--profile", "other", "--api", api, "login", "--token", "nope", "--json")
    assert refused.code == 4


def test_local_login_mints_into_the_state(ctl: Ctl, system) -> None:
    if system.state_dir is None:
        pytest.skip("mints into the local state directory")
    env = {"RS1_TOKEN": None, "RS1_STATE_DIR": str(system.state_dir)}
    logged = ctl("login", "--ttl", "600", "--json", env=env)
    assert logged.code == 0, logged.stderr
    assert logged.json["profile"] == "local" and logged.json["sub"] == "rs1ctl"
    assert ctl("devices", "list", "--limit", "1", "--json", env=env).code == 0


# ---- devices -----------------------------------------------------------------------------


def test_devices_enroll_show_list_search_revoke_enable(ctl: Ctl) -> None:
    device = enrolled(ctl, "RS-1")
    device_id = device["device_id"]
    assert len(device["device_secret"]) == 64
    shown = ctl("devices", "show", device_id, "--json")
    assert shown.code == 0 and shown.json["status"] == "active"
    listed = ctl("devices", "list", "--all", "--limit", "1000", "--json")
    assert device_id in {d["device_id"] for d in listed.json["devices"]}
    assert listed.json["next_after"] is None
    found = ctl("devices", "search", "online=false", "--json")
    assert device_id in {d["device_id"] for d in found.json["devices"]}
    assert ctl("devices", "revoke", device_id, "--json").json["status"] == "revoked"
    assert ctl("devices", "enable", device_id, "--json").json["status"] == "active"
    again = ctl("devices", "enroll", device["mac_address"], "--json")
    assert again.code == 5 and again.json["error"] == "already_enrolled"
    assert ctl("devices", "enroll", device["mac_address"], "--rotate", "--json").code == 0


def test_devices_errors_map_to_exit_codes(ctl: Ctl) -> None:
    unknown = ctl("devices", "show", "0" * 32, "--json")
    assert unknown.code == 3
    assert unknown.json["error"] == "not_found" and unknown.json["request_id"]
    assert "not_found" in ctl("devices", "show", "0" * 32).stderr
    assert ctl("devices", "enroll", "zz:zz", "--json").code == 6
    assert ctl("devices", "revoke", "0" * 32, "--json").code == 3
    assert ctl("devices", "list", "--limit", "0").code == 2  # typer's usage error


def test_devices_enroll_batch_writes_the_secrets_file(ctl: Ctl, tmp_path: Path) -> None:
    macs = [random_mac() for _ in range(3)]
    (tmp_path / "macs.csv").write_text("mac_address\n" + "\n".join(macs) + "\n")
    out = tmp_path / "secrets.csv"
    result = ctl("devices", "enroll-batch", str(tmp_path / "macs.csv"), "--out", str(out), "--json")
    assert result.code == 0, result.stderr
    assert result.json == {"enrolled": 3, "conflicts": 0, "invalid": 0, "secrets_file": str(out)}
    assert out.stat().st_mode & 0o777 == 0o600 and len(out.read_text().splitlines()) == 4
    (tmp_path / "bad.csv").write_text("not-a-mac\n")
    bad = ctl("devices", "enroll-batch", str(tmp_path / "bad.csv"), "--out", str(out), "--json")
    assert bad.code == 6 and bad.json["invalid"] == 1


def test_devices_tag(ctl: Ctl, admin: httpx.Client) -> None:
    device_id = enrolled(ctl)["device_id"]
    tagged = ctl("devices", "tag", device_id, "site=berlin", "floor=2", "--json")
    if tagged.code == 3 and tagged.json["message"].startswith("No route"):
        pytest.skip("the system does not serve PUT /admin/devices/{id}/tags yet")
    assert tagged.code == 0, tagged.stdout + tagged.stderr
    assert tagged.json == {"device_id": device_id, "tags": {"site": "berlin", "floor": "2"}}
    changed = ctl("devices", "tag", device_id, "floor=3", "-r", "site", "--json")
    assert changed.json["tags"] == {"floor": "3"}
    assert ctl("devices", "show", device_id, "--json").json["tags"] == {"floor": "3"}
    assert ctl("devices", "tag", device_id, "Bad Key=x", "--json").code == 6
    assert ctl("devices", "tag", "0" * 32, "a=b", "--json").code == 3


def test_devices_diag(ctl: Ctl, webhook: httpx.Client) -> None:
    device_id = enrolled(ctl)["device_id"]  # offline: nobody answers
    waited = ctl("devices", "diag", device_id, "--timeout", "1", "--interval", "0.2", "--json")
    assert waited.code == 9 and waited.json["error"] == "timeout"
    asked = ctl("devices", "diag", device_id, "--no-wait", "--json")
    assert asked.code == 0 and asked.json["delivered"] is False
    request_id = asked.json["request_id"]
    # The device answers on telemetry/diag (as EMQX delivers it to the webhook).
    answer = envelope(
        device_id, uuid.uuid4().hex, "diag", request_id=request_id, result={"wifi": "ok"}
    )
    assert webhook.post("/webhook/telemetry", json=answer).status_code == 200
    got = ctl(
        "devices",
        "diag",
        device_id,
        "--request-id",
        request_id,
        "--timeout",
        "30",
        "--interval",
        "0.3",
        "--json",
    )
    assert got.code == 0, got.stdout + got.stderr
    assert got.json["status"] == "answered" and got.json["result"] == {"wifi": "ok"}
    assert ctl("devices", "diag", "0" * 32, "--json").code == 3


# ---- firmware and rollouts ---------------------------------------------------------------


@pytest.fixture(scope="module")
def keys(firmware_keys: FirmwareKeys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "private.pem").write_bytes(firmware_keys.private_pem)
    (folder / "public.b64").write_text(firmware_keys.public_b64)
    return folder


def publish(ctl: Ctl, keys: Path, folder: Path, model: str, version: str) -> Run:
    image = folder / f"{model}-{version}.bin"
    built = ctl(
        "firmware",
        "build",
        "--model",
        model,
        "--version",
        version,
        "--size",
        "70000",
        "--out",
        str(image),
        "--json",
    )
    assert built.code == 0, built.stderr
    signed = ctl("firmware", "sign", str(image), "--key", str(keys / "private.pem"), "--json")
    assert signed.code == 0, signed.stderr
    manifest = signed.json["manifest"]
    verified = ctl(
        "firmware", "verify", str(image), manifest, "--pubkey", str(keys / "public.b64"), "--json"
    )
    assert verified.code == 0 and verified.json["ok"] is True
    return ctl("firmware", "publish", str(image), manifest, "--json")


def test_firmware_build_sign_verify_publish_list(ctl: Ctl, keys: Path, tmp_path: Path) -> None:
    model = "T" + uuid.uuid4().hex[:8]
    published = publish(ctl, keys, tmp_path, model, "1.2.0")
    assert published.code == 0, published.stdout + published.stderr
    assert published.json["created"] is True and published.json["size"] == 70000
    again = ctl(
        "firmware",
        "publish",
        str(tmp_path / f"{model}-1.2.0.bin"),
        str(tmp_path / f"{model}-1.2.0.manifest.json"),
        "--json",
    )
    assert again.code == 0 and again.json["created"] is False
    listed = ctl("firmware", "list", "--json")
    assert {"model": model, "version": "1.2.0"}.items() <= next(
        f for f in listed.json["firmware"] if f["model"] == model
    ).items()
    image = tmp_path / f"{model}-1.2.0.bin"
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    broken = ctl(
        "firmware",
        "verify",
        str(image),
        str(tmp_path / f"{model}-1.2.0.manifest.json"),
        "--pubkey",
        str(keys / "public.b64"),
        "--json",
    )
    assert broken.code == 8 and broken.json["error"] == "sha256_mismatch"
    refused = ctl(
        "firmware", "publish", str(image), str(tmp_path / f"{model}-1.2.0.manifest.json"), "--json"
    )
    assert refused.code == 6 and refused.json["error"] == "firmware_rejected"


def test_rollouts_create_show_pause_resume_advance_abort_watch(
    ctl: Ctl, keys: Path, tmp_path: Path
) -> None:
    model = "T" + uuid.uuid4().hex[:8]
    assert publish(ctl, keys, tmp_path, model, "2.0.0").code == 0
    device_id = enrolled(ctl, model)["device_id"]  # offline: it keeps the rollout open
    created = ctl(
        "rollouts",
        "create",
        "2.0.0",
        "--model",
        model,
        "--stage",
        "50",
        "--stage",
        "100",
        "--device",
        device_id,
        "--json",
    )
    assert created.code == 0, created.stdout + created.stderr
    rid = created.json["rollout_id"]
    assert created.json["status"] == "active" and created.json["counts"] == {"pending": 1}
    assert ctl("rollouts", "show", rid, "--json").json["rollout_id"] == rid
    assert rid in {r["rollout_id"] for r in ctl("rollouts", "list", "--json").json["rollouts"]}
    assert ctl("rollouts", "pause", rid, "--json").json["status"] == "paused"
    assert ctl("rollouts", "advance", rid, "--json").code == 5  # paused
    assert ctl("rollouts", "resume", rid, "--json").json["status"] == "active"
    assert ctl("rollouts", "advance", rid, "--from-stage", "1", "--json").code == 5  # at 0
    assert ctl("rollouts", "advance", rid, "--from-stage", "0", "--json").json["current_stage"] == 1
    assert ctl("rollouts", "advance", rid, "--json").json["error"] == "last_stage"
    watched = ctl("rollouts", "watch", rid, "--interval", "0.5", "--timeout", "2", "--json")
    assert watched.code == 9
    *polls, timeout = watched.lines
    assert polls and all(p["rollout_id"] == rid and "eta_s" in p for p in polls)
    assert timeout["error"] == "timeout"
    assert ctl("rollouts", "abort", rid, "--json").json["status"] == "aborted"
    ended = ctl("rollouts", "watch", rid, "--json")
    assert ended.code == 1 and ended.lines[-1]["status"] == "aborted"
    assert ctl("rollouts", "pause", rid, "--json").code == 5
    assert ctl("rollouts", "show", "nope", "--json").code == 3


def test_rollouts_watch_exits_0_when_completed(ctl: Ctl, keys: Path, tmp_path: Path) -> None:
    model = "T" + uuid.uuid4().hex[:8]  # no device of this model: it completes at once
    assert publish(ctl, keys, tmp_path, model, "1.0.1").code == 0
    rid = ctl("rollouts", "create", "1.0.1", "--model", model, "--json").json["rollout_id"]
    watched = ctl("rollouts", "watch", rid, "--timeout", "30", "--json")
    assert watched.code == 0 and watched.lines[-1]["status"] == "completed"
    human = ctl("rollouts", "watch", rid)
    assert human.code == 0 and f"rollout {rid}" in human.stdout


# ---- fleet, alerts, audit, keys, events --------------------------------------------------


def test_fleet_status_and_alerts(ctl: Ctl) -> None:
    fleet = ctl("fleet", "status", "--json")
    assert fleet.code == 0 and fleet.json["devices"]["registered"] >= 1
    assert "telemetry_rows" in fleet.json
    human = ctl("fleet", "status")
    assert human.code == 0 and "firmware versions" in human.stdout
    alerts = ctl("alerts", "list", "--status", "all", "--json")
    assert alerts.code == 0 and isinstance(alerts.json["alerts"], list)
    assert ctl("alerts", "list", "--status", "maybe").code == 2


def test_audit_tail_and_verify(ctl: Ctl, admin: httpx.Client) -> None:
    served(admin, "/admin/audit")
    device_id = enrolled(ctl)["device_id"]
    assert ctl("devices", "revoke", device_id, "--json").code == 0
    tail = ctl("audit", "tail", "--target", device_id, "--json")
    assert tail.code == 0, tail.stdout + tail.stderr
    actions = [r["action"] for r in tail.json["records"]]
    assert actions[:2] == ["device.revoke", "device.enroll"]  # newest first
    assert all(r["target"]["id"] == device_id for r in tail.json["records"])
    follow = ctl("audit", "tail", "--target", device_id, "-f", "--duration", "1", "--json")
    assert follow.code == 0 and [r["action"] for r in follow.lines][-1] == "device.revoke"
    verified = ctl("audit", "verify", "--json")
    assert verified.code == 0, verified.stdout + verified.stderr
    assert verified.json["ok"] is True and verified.json["problems"] == []


def test_keys_create_use_list_revoke(ctl: Ctl, admin: httpx.Client, system) -> None:
    served(admin, "/admin/keys")
    created = ctl("keys", "create", "itest", "--scope", "devices:read", "--json")
    assert created.code == 0, created.stdout + created.stderr
    key, key_id = created.json["key"], created.json["key_id"]
    assert key.startswith("rs1_live_") and created.json["scopes"] == ["devices:read"]
    as_key = {"RS1_TOKEN": key}
    assert ctl("devices", "list", "--limit", "1", "--json", env=as_key).code == 0
    assert ctl("fleet", "status", "--json", env=as_key).code == 4  # not in its scopes
    logged = ctl(
        "--profile", "ci", "--api", system.urls["device_api"], "login", "--token", key, "--json"
    )
    assert logged.code == 0, logged.stdout + logged.stderr
    listed = ctl("keys", "list", "--json").json["keys"]
    assert key_id in {k["key_id"] for k in listed} and key not in json.dumps(listed)
    revoked = ctl("keys", "revoke", key_id, "--json")
    assert revoked.code == 0 and revoked.json["key_id"] == key_id and revoked.json["revoked_at"]
    assert ctl("devices", "list", "--limit", "1", "--json", env=as_key).code == 4
    assert ctl("keys", "create", "x", "--scope", "no:such", "--json").code == 6


def test_events_endpoints_and_log(ctl: Ctl, admin: httpx.Client) -> None:
    served(admin, "/admin/events/endpoints")
    added = ctl(
        "events",
        "endpoints",
        "add",
        "https://hooks.example/rs1",
        "--type",
        "device.online",
        "--type",
        "device.enrolled",
        "--description",
        "itest",
        "--json",
    )
    assert added.code == 0, added.stdout + added.stderr
    endpoint_id = added.json["endpoint_id"]
    assert added.json["secret"] and added.json["enabled"] is True
    assert set(added.json["event_types"]) == {"device.online", "device.enrolled"}
    listed = ctl("events", "endpoints", "list", "--json").json["endpoints"]
    assert endpoint_id in {e["endpoint_id"] for e in listed}
    assert added.json["secret"] not in json.dumps(listed)
    assert ctl("events", "endpoints", "disable", endpoint_id, "--json").json["enabled"] is False
    assert ctl("events", "endpoints", "enable", endpoint_id, "--json").json["enabled"] is True
    enrolled(ctl)  # a device.enrolled event
    events = ctl("events", "list", "--type", "device.enrolled", "--limit", "5", "--json")
    assert events.code == 0 and events.json["events"]
    event_id = events.json["events"][0]["id"]
    deliveries = ctl("events", "deliveries", "--endpoint-id", endpoint_id, "--json")
    assert deliveries.code == 0 and isinstance(deliveries.json["deliveries"], list)
    again = ctl("events", "redeliver", event_id, "--json")
    assert again.code == 0 and again.json["event_id"] == event_id
    assert ctl("events", "endpoints", "remove", endpoint_id, "--json").code == 0
    assert ctl("events", "endpoints", "remove", endpoint_id, "--json").code == 3
    assert ctl("events", "endpoints", "add", "not a url", "--type", "device.online").code == 6
