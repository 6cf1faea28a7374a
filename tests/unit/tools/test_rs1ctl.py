"""rs1ctl against a stub API (httpx.MockTransport through client.transport_factory): option
parsing, profiles and tokens, exit codes, --json purity, tag parsing, the rollout watch view,
audit verification and firmware signing."""

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rs1fw.images import build_image
from rs1fw.signing import generate_keypair
from typer.testing import CliRunner

from rs1.audit import chain
from rs1tools.rs1ctl import audit_verify, client, devices, profiles, rollout_view
from rs1tools.rs1ctl.app import app
from rs1tools.rs1ctl.exits import Exit

DEVICE = "0123456789abcdef0123456789abcdef"
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class StubApi:
    """Answers by (method, path): a Response, a list of them (one per call, the last one
    repeating) or a function of the request. Unknown routes answer the API's 404."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, answer: Any = None, status: int = 200) -> None:
        handler: Handler
        if isinstance(answer, list):
            queue = list(answer)
            handler = lambda r: queue.pop(0) if len(queue) > 1 else queue[0]  # noqa: E731
        elif callable(answer):
            handler = cast(Handler, answer)
        else:
            response = answer if isinstance(answer, httpx.Response) else reply(answer, status)
            handler = lambda r: response  # noqa: E731
        self.routes[(method, path)] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return error(404, "not_found", "No such thing.")
        return handler(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def reply(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def error(status: int, code: str, message: str) -> httpx.Response:
    body = {"error": code, "message": message, "request_id": f"req-{status}", "timestamp": "t"}
    return httpx.Response(status, json=body)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> StubApi:
    api = StubApi()
    monkeypatch.setattr(client, "transport_factory", lambda: httpx.MockTransport(api.handle))
    monkeypatch.setenv("RS1CTL_CONFIG", str(tmp_path / "rs1ctl" / "profiles.json"))
    for name in ("RS1_API_URL", "RS1_PROFILE", "RS1_ADMIN_TOKEN", "RS1_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RS1_TOKEN", "env-token")
    return api


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env or None)


def doc(result: Any) -> Any:
    """stdout must be exactly one JSON document."""
    return json.loads(result.stdout)


# ---- option parsing, paging --------------------------------------------------------------


def test_devices_list_passes_filters_and_prints_one_json_document(stub: StubApi) -> None:
    page = {"devices": [{"device_id": DEVICE, "online": True}], "next_after": None}
    stub.on("GET", "/admin/devices", page)
    result = run("devices", "list", "--online", "--owner", "alice", "--limit", "5", "--json")
    assert result.exit_code == 0, result.output
    assert doc(result) == page
    assert dict(stub.last.url.params) == {"online": "true", "owner": "alice", "limit": "5"}
    assert stub.last.url.host == "127.0.0.1" and stub.last.url.port == 8787  # local profile


def test_devices_list_all_follows_next_after(stub: StubApi) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        if after is None:
            return reply({"devices": [{"device_id": "a"}], "next_after": "a"})
        return reply({"devices": [{"device_id": "b"}], "next_after": None})

    stub.on("GET", "/admin/devices", pages)
    result = run("--json", "devices", "list", "--all", "--offline")
    assert doc(result)["devices"] == [{"device_id": "a"}, {"device_id": "b"}]
    assert [r.url.params.get("online") for r in stub.requests] == ["false", "false"]


def test_devices_search_takes_filter_expressions(stub: StubApi) -> None:
    stub.on("GET", "/admin/devices", {"devices": [], "next_after": None})
    assert run("devices", "search", "version=1.2.0", "online=true", "--json").exit_code == 0
    assert dict(stub.last.url.params) == {"version": "1.2.0", "online": "true"}
    assert run("devices", "search", "colour=red").exit_code == Exit.USAGE


def test_devices_list_takes_a_cohort_query(stub: StubApi) -> None:
    stub.on("GET", "/admin/devices", {"devices": [], "next_after": None})
    assert run("devices", "list", "-q", "tag:site = berlin and online", "--json").exit_code == 0
    assert dict(stub.last.url.params) == {"q": "tag:site = berlin and online"}


def test_devices_bulk_sends_one_action(stub: StubApi) -> None:
    stub.on("POST", "/admin/devices/bulk", {"matched": 2, "device_ids": [], "applied": 2})
    result = run("devices", "bulk", "version < 1.2.0", "ring=early", "-r", "old", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(stub.last.content) == {
        "query": "version < 1.2.0", "action": "tag", "dry_run": False,
        "tags": {"set": {"ring": "early"}, "remove": ["old"]},
    }  # fmt: skip
    assert run("devices", "bulk", "online", "--revoke", "--dry-run", "--json").exit_code == 0
    assert json.loads(stub.last.content) == {"query": "online", "action": "revoke",
                                             "dry_run": True}  # fmt: skip
    assert run("devices", "bulk", "online", "--revoke", "--diag").exit_code == Exit.USAGE
    assert run("devices", "bulk", "online").exit_code == Exit.USAGE


def test_usage_errors_are_json_with_json(stub: StubApi) -> None:
    result = run("devices", "search", "colour=red", "--json")
    assert result.exit_code == Exit.USAGE
    assert doc(result)["error"] == "usage"


@given(st.dictionaries(st.text(min_size=1).filter(lambda k: "=" not in k), st.text()))
def test_tag_pairs_round_trip(tags: dict[str, str]) -> None:
    pairs = [f"{key}={value}" for key, value in tags.items()]
    assert devices.parse_pairs(pairs) == tags


@given(st.text().filter(lambda s: "=" not in s))
def test_a_tag_without_equals_is_a_usage_error(word: str) -> None:
    with pytest.raises(Exception, match="KEY=VALUE"):
        devices.parse_pairs([word])


def test_devices_tag_sends_set_and_remove(stub: StubApi) -> None:
    answer = {"device_id": DEVICE, "tags": {"site": "berlin", "floor": "2"}}
    stub.on("PUT", f"/admin/devices/{DEVICE}/tags", answer)
    result = run(
        "devices", "tag", DEVICE, "site=berlin", "floor=2", "note=a=b", "-r", "old", "--json"
    )
    assert result.exit_code == 0, result.output
    assert doc(result) == answer
    sent = json.loads(stub.last.content)
    assert sent == {"set": {"site": "berlin", "floor": "2", "note": "a=b"}, "remove": ["old"]}
    assert run("devices", "tag", DEVICE).exit_code == Exit.USAGE  # nothing to do
    assert run("devices", "tag", DEVICE, "site").exit_code == Exit.USAGE


# ---- profiles and tokens -----------------------------------------------------------------


def test_api_url_precedence(stub: StubApi, monkeypatch: pytest.MonkeyPatch) -> None:
    assert profiles.api_url("production") == "https://api.optic.works"
    profiles.save("staging", {"api": "https://staging.example/"})
    assert profiles.api_url("staging") == "https://staging.example"
    monkeypatch.setenv("RS1_API_URL", "http://env.example")
    assert profiles.api_url("staging") == "http://env.example"
    assert profiles.api_url("staging", "http://flag.example") == "http://flag.example"


def test_unknown_profile_without_api_is_a_usage_error(stub: StubApi) -> None:
    result = run("--profile", "nowhere", "fleet", "status", "--json")
    assert result.exit_code == Exit.USAGE
    assert doc(result)["error"] == "no_api_url"


def test_token_precedence(stub: StubApi, monkeypatch: pytest.MonkeyPatch) -> None:
    stub.on("GET", "/admin/fleet", {"devices": {}})
    monkeypatch.setenv("RS1_ADMIN_TOKEN", "admin-env-token")
    profiles.save("local", {"token": "saved-token"})
    run("--token", "flag-token", "fleet", "status", "--json")
    assert stub.last.headers["authorization"] == "Bearer flag-token"
    run("fleet", "status", "--json")
    assert stub.last.headers["authorization"] == "Bearer env-token"
    monkeypatch.delenv("RS1_TOKEN")
    run("fleet", "status", "--json")
    assert stub.last.headers["authorization"] == "Bearer admin-env-token"
    monkeypatch.delenv("RS1_ADMIN_TOKEN")
    run("fleet", "status", "--json")
    assert stub.last.headers["authorization"] == "Bearer saved-token"


def test_local_profile_mints_a_session_and_others_need_a_login(
    stub: StubApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RS1_TOKEN")
    minted: list[tuple] = []

    def bootstrap(sub: str, role: str, ttl: int, state_dir: Path, env: None = None) -> str:
        minted.append((sub, role, state_dir))
        return "minted-token"

    monkeypatch.setattr(profiles, "bootstrap_token", bootstrap)
    monkeypatch.setenv("RS1_STATE_DIR", str(tmp_path / "state"))
    stub.on("GET", "/admin/fleet", {"devices": {}})
    assert run("fleet", "status", "--json").exit_code == 0
    assert stub.last.headers["authorization"] == "Bearer minted-token"
    assert minted == [("rs1ctl", "admin", tmp_path / "state")]
    result = run("--profile", "production", "fleet", "status", "--json")
    assert result.exit_code == Exit.AUTH
    assert doc(result)["error"] == "no_token"


def test_login_checks_the_token_and_saves_it_0600(stub: StubApi) -> None:
    session = {"sub": "ops", "role": "admin", "expires_at": 2_000_000_000, "jti": "j"}
    stub.on("GET", "/api/auth/session", session)
    result = run("--profile", "production", "login", "--token", "rs1_live_abc", "--json")
    assert result.exit_code == 0, result.output
    assert doc(result)["sub"] == "ops" and doc(result)["api"] == "https://api.optic.works"
    assert stub.last.headers["authorization"] == "Bearer rs1_live_abc"
    path = profiles.config_path()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert profiles.load()["production"]["token"] == "rs1_live_abc"
    listed = doc(run("profiles", "--json"))
    assert {"profile": "production", "api": "https://api.optic.works", "token_saved": True} in (
        listed["profiles"]
    )
    assert "rs1_live_abc" not in json.dumps(listed)


def test_login_refuses_a_bad_token_and_saves_nothing(stub: StubApi) -> None:
    stub.on("GET", "/api/auth/session", error(401, "unauthorized", "Bad token."))
    result = run("--profile", "production", "login", "--token", "nope")
    assert result.exit_code == Exit.AUTH
    assert "Bad token." in result.stderr and result.stdout == ""
    assert profiles.load() == {}


def test_login_prompts_for_the_token(stub: StubApi) -> None:
    stub.on("GET", "/api/auth/session", {"sub": "me", "role": "user", "expires_at": 1, "jti": "j"})
    result = CliRunner().invoke(
        app, ["--api", "http://x.example", "--profile", "x", "login"], input="typed-token\n"
    )
    assert result.exit_code == 0, result.output
    assert profiles.load()["x"] == {"api": "http://x.example", "token": "typed-token"}


def test_token_prints_just_the_token(stub: StubApi, monkeypatch: pytest.MonkeyPatch) -> None:
    from rs1tools.rs1ctl import auth

    calls: list[tuple] = []
    monkeypatch.setattr(auth, "bootstrap_token", lambda *args: calls.append(args) or "a.b.c")
    result = run(
        "token",
        "--role",
        "user",
        "--sub",
        "alice",
        "--ttl",
        "600",
        "--remote",
        "--env",
        "production",
    )
    assert result.exit_code == 0 and result.stdout == "a.b.c\n"
    assert calls == [("alice", "user", 600, None, "production")]  # Cloudflare's KV
    assert doc(run("token", "--json"))["token"] == "a.b.c"
    assert run("token", "--ttl", "100000").exit_code == Exit.USAGE  # sessions live a day


def test_a_broken_profiles_file_is_reported(stub: StubApi) -> None:
    path = profiles.config_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"profiles": ["not", "a", "map"]}')
    result = run("--profile", "production", "fleet", "status", "--json")
    assert result.exit_code == Exit.FAILURE and doc(result)["error"] == "bad_config"


# ---- exit codes and errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, 6),
        (401, 4),
        (403, 4),
        (404, 3),
        (409, 5),
        (413, 6),
        (422, 6),
        (429, 7),
        (500, 7),
        (503, 7),
        (418, 1),
    ],
)
def test_http_status_to_exit_code(stub: StubApi, status: int, code: int) -> None:
    stub.on("GET", f"/admin/devices/{DEVICE}", error(status, "some_error", "It went wrong."))
    result = run("devices", "show", DEVICE, "--json")
    assert result.exit_code == code
    assert doc(result) == {
        "error": "some_error",
        "message": "It went wrong.",
        "request_id": f"req-{status}",
        "timestamp": "t",
    }
    human = run("devices", "show", DEVICE)
    assert human.exit_code == code and human.stdout == ""
    assert "It went wrong." in human.stderr and f"req-{status}" in human.stderr


def test_transport_failure_is_exit_7(stub: StubApi) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    stub.on("GET", "/admin/fleet", refuse)
    result = run("fleet", "status", "--json")
    assert result.exit_code == Exit.UNAVAILABLE
    assert doc(result)["error"] == "unavailable"


def test_a_non_json_error_still_reports(stub: StubApi) -> None:
    stub.on(
        "GET",
        "/admin/fleet",
        lambda r: httpx.Response(
            502, text="<html>bad gateway</html>", headers={"x-request-id": "edge-1"}
        ),
    )
    result = run("fleet", "status", "--json")
    assert result.exit_code == Exit.UNAVAILABLE
    assert doc(result) == {
        "error": "http_502",
        "message": "<html>bad gateway</html>",
        "request_id": "edge-1",
    }


def test_help_documents_exit_codes_and_completion(stub: StubApi) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for code, meaning in [(3, "not found"), (8, "verification failed"), (9, "timed out")]:
        assert f"{code} {meaning}" in result.stdout
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


# ---- --json purity on commands that also show progress or warnings -----------------------


def test_enroll_warns_on_stderr_only(stub: StubApi) -> None:
    enrolled = {
        "device_id": DEVICE,
        "mac_address": "02:00:00:00:00:01",
        "model": None,
        "device_secret": "s3cret",
        "key_generation": 1,
    }
    stub.on("POST", "/admin/devices", enrolled, 201)
    result = run("devices", "enroll", "02:00:00:00:00:01", "--json")
    assert doc(result) == enrolled and result.stderr == ""
    human = run("devices", "enroll", "02:00:00:00:00:01")
    assert "shown once" in human.stderr and "s3cret" in human.stdout


def test_api_text_is_never_rich_markup(stub: StubApi) -> None:
    stub.on("GET", f"/admin/devices/{DEVICE}", {"device_id": DEVICE, "tags": {"x": "[red]y[/]"}})
    result = run("devices", "show", DEVICE)
    assert result.exit_code == 0 and "x=[red]y[/]" in result.stdout


def test_enroll_batch_writes_secrets_0600_and_exits_6_on_invalid(
    stub: StubApi, tmp_path: Path
) -> None:
    macs = tmp_path / "macs.csv"
    macs.write_text("mac_address\n02:00:00:00:00:01\nnot-a-mac\n")
    row = {
        "mac_address": "02:00:00:00:00:01",
        "device_id": DEVICE,
        "device_secret": "s",
        "key_generation": 1,
        "model": None,
    }
    bad = {"index": 1, "mac_address": "not-a-mac", "message": "bad MAC"}
    stub.on("POST", "/admin/devices:batch", {"enrolled": [row], "conflicts": [], "invalid": [bad]})
    out = tmp_path / "secrets.csv"
    result = run("devices", "enroll-batch", str(macs), "--out", str(out), "--json")
    assert result.exit_code == Exit.INVALID
    assert doc(result) == {"enrolled": 1, "conflicts": 0, "invalid": 1, "secrets_file": str(out)}
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert out.read_text().splitlines()[1] == f"02:00:00:00:00:01,{DEVICE},s,1"
    assert json.loads(stub.last.content)["devices"][1] == {"mac_address": "not-a-mac"}


def test_events_endpoint_secret_is_shown_once(stub: StubApi) -> None:
    created = {
        "endpoint_id": "ep1",
        "url": "https://hooks.example/x",
        "secret": "whsec",
        "event_types": ["device.online"],
        "enabled": True,
        "created_at": "t",
    }
    stub.on("POST", "/admin/events/endpoints", created, 201)
    result = run(
        "events",
        "endpoints",
        "add",
        "https://hooks.example/x",
        "--type",
        "device.online",
        "--type",
        "device.offline",
        "--json",
    )
    assert doc(result) == created
    assert json.loads(stub.last.content) == {
        "url": "https://hooks.example/x",
        "event_types": ["device.online", "device.offline"],
    }
    assert (
        "shown once"
        in run("events", "endpoints", "add", "https://h.example", "--type", "device.online").stderr
    )


def test_events_endpoint_toggle_remove_and_redeliver(stub: StubApi) -> None:
    stub.on("PATCH", "/admin/events/endpoints/ep1", {"endpoint_id": "ep1", "enabled": False})
    stub.on("DELETE", "/admin/events/endpoints/ep1", None, 204)
    stub.on("POST", "/admin/events/ev1/redeliver", {"event_id": "ev1", "deliveries": ["d"]}, 202)
    assert doc(run("events", "endpoints", "disable", "ep1", "--json"))["enabled"] is False
    assert json.loads(stub.last.content) == {"enabled": False}
    assert doc(run("events", "endpoints", "remove", "ep1", "--json"))["removed"] is True
    assert doc(run("events", "redeliver", "ev1", "--json"))["deliveries"] == ["d"]


def test_keys_create_body_and_bad_expiry(stub: StubApi) -> None:
    stub.on("POST", "/admin/keys", {"key_id": "k", "key": "rs1_live_x"}, 201)
    result = run(
        "keys",
        "create",
        "ci",
        "--scope",
        "devices:read",
        "--scope",
        "fleet:read",
        "--role",
        "user",
        "--sub",
        "alice",
        "--expires",
        "2027-01-01T00:00:00Z",
        "--json",
    )
    assert doc(result)["key"] == "rs1_live_x"
    assert json.loads(stub.last.content) == {
        "name": "ci",
        "scopes": ["devices:read", "fleet:read"],
        "role": "user",
        "sub": "alice",
        "expires_at": "2027-01-01T00:00:00Z",
    }
    assert run("keys", "create", "ci", "--scope", "x", "--expires", "2027-01-01").exit_code == 2


# ---- diag --------------------------------------------------------------------------------


def test_diag_waits_for_the_answer(stub: StubApi) -> None:
    stub.on("POST", f"/admin/devices/{DEVICE}/diag", {"request_id": "r1", "delivered": True}, 202)
    answered = {"request_id": "r1", "status": "answered", "received_at": 5, "result": {"ok": 1}}
    stub.on(
        "GET",
        f"/admin/devices/{DEVICE}/diag/r1",
        [reply({"request_id": "r1", "status": "pending"}), reply(answered)],
    )
    result = run("devices", "diag", DEVICE, "--kind", "wifi", "--interval", "0.05", "--json")
    assert result.exit_code == 0, result.output
    assert doc(result) == answered
    assert json.loads(stub.requests[0].content) == {"kind": "wifi"}


def test_diag_times_out_with_exit_9(stub: StubApi) -> None:
    stub.on("POST", f"/admin/devices/{DEVICE}/diag", {"request_id": "r2", "delivered": False}, 202)
    stub.on("GET", f"/admin/devices/{DEVICE}/diag/r2", {"request_id": "r2", "status": "pending"})
    result = run("devices", "diag", DEVICE, "--timeout", "0.1", "--interval", "0.05", "--json")
    assert result.exit_code == Exit.TIMEOUT
    assert doc(result)["diag_request_id"] == "r2"
    again = run("devices", "diag", DEVICE, "--request-id", "r2", "--timeout", "0", "--json")
    assert again.exit_code == Exit.TIMEOUT
    assert stub.last.url.path.endswith("/diag/r2")


# ---- rollouts: the watch view ------------------------------------------------------------


def rollout(status: str = "active", stage: int = 1, **counts: int) -> dict[str, Any]:
    failures = counts.get("failed", 0) + counts.get("timed_out", 0)
    finished = failures + counts.get("success", 0)
    low, high = (0.0, 0.176) if finished == 18 else (0.0, 1.0)
    return {
        "rollout_id": "ro1",
        "model": "RS-1",
        "firmware_version": "1.2.0",
        "status": status,
        "status_reason": None,
        "stages": [{"percent": 10}, {"percent": 50}, {"percent": 100}],
        "current_stage": stage,
        "target_percent": None,
        "counts": counts,
        "failures": failures,
        "finished": finished,
        "failure_rate": failures / finished if finished else None,
        "failure_rate_ci95": [low, high],
        "failure_threshold": 0.02,
        "timeout_minutes": 60,
        "created_at": "2026-11-18T00:00:00Z",
    }


def rendered(r: dict[str, Any], eta: float | None = None) -> str:
    console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(rollout_view.render(r, eta))
    return console.export_text()


def test_stage_progress_and_counts() -> None:
    r = rollout(success=18, downloading=5, pending=7, skipped=3)
    assert rollout_view.stage_progress(r) == [1.0, 0.6, 0.0]  # 18 of 30 in the cohort
    assert rollout_view.stage_progress({**r, "status": "completed"}) == [1.0, 1.0, 1.0]
    text = rendered(r, 80)
    assert "stage 1    10%" in text and "100%" in text and "60%" in text
    assert "success 18  failed 0  in flight 5  soaking 0  waiting 7  skipped 3" in text
    assert "ETA 1m20s" in text


def test_the_wilson_interval_is_judged_against_the_threshold() -> None:
    assert rollout_view.verdict(0.0, 0.015, 0.02) == "below"
    assert rollout_view.verdict(0.03, 0.2, 0.02) == "above"
    assert rollout_view.verdict(0.0, 0.176, 0.02) == "undecided"
    text = rendered(rollout(success=18))
    assert "95% Wilson [0.0%, 17.6%] vs 2%: undecided" in text
    bar = rollout_view.interval_bar(0.0, 0.176, 0.02, width=40).plain
    assert len(bar) == 40 and bar.count("|") == 1 and bar.index("|") == 4  # 2% of 0..17.6%


def test_eta_from_the_success_rate_seen_while_watching() -> None:
    tracker = rollout_view.EtaTracker()
    assert tracker.eta(rollout(success=10, pending=20), now=100.0) is None  # first look
    later = rollout(success=20, pending=10)  # 30 in the 50% stage → 60 in all, 40 to go
    assert tracker.eta(later, now=110.0) == pytest.approx(40 / 1.0)
    assert tracker.eta(rollout("completed", 2, success=60), now=120.0) == 0.0
    assert rollout_view.duration(3725) == "1h02m" and rollout_view.duration(None) == "—"


@pytest.mark.parametrize(("final", "code"), [("completed", 0), ("aborted", 1)])
def test_watch_prints_json_lines_until_the_end(stub: StubApi, final: str, code: int) -> None:
    polls = [reply(rollout(success=1, pending=9)), reply(rollout(final, 2, success=10))]
    stub.on("GET", "/admin/rollouts/ro1", polls)
    result = run("rollouts", "watch", "ro1", "--interval", "0.1", "--json")
    assert result.exit_code == code
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["active", final]
    assert lines[0]["eta_s"] is None and lines[1]["eta_s"] == 0.0


def test_watch_times_out_with_exit_9(stub: StubApi) -> None:
    stub.on("GET", "/admin/rollouts/ro1", rollout(success=1, pending=9))
    result = run("rollouts", "watch", "ro1", "--interval", "0.1", "--timeout", "0.15", "--json")
    assert result.exit_code == Exit.TIMEOUT
    assert json.loads(result.stdout.splitlines()[-1])["error"] == "timeout"


def test_watch_renders_live_in_human_mode(stub: StubApi) -> None:
    stub.on("GET", "/admin/rollouts/ro1", rollout("completed", 2, success=10))
    result = run("rollouts", "watch", "ro1")
    assert result.exit_code == 0 and "rollout ro1" in result.stdout


def test_rollouts_create_body_and_advance_query(stub: StubApi) -> None:
    stub.on("POST", "/admin/rollouts", rollout(), 201)
    stub.on("POST", "/admin/rollouts/ro1/advance", rollout(stage=2))
    result = run(
        "rollouts",
        "create",
        "1.2.0",
        "--stage",
        "10",
        "--stage",
        "100",
        "--soak-minutes",
        "5",
        "--json",
    )
    assert doc(result)["rollout_id"] == "ro1"
    body = json.loads(stub.last.content)
    assert body["stages"] == [
        {"percent": 10, "soak_minutes": 5},
        {"percent": 100, "soak_minutes": 5},
    ]
    assert body["model"] == "RS-1" and body["failure_threshold"] == 0.02
    assert body["policy"] == {"jitter_s": 0, "install": "immediate", "rollback": False}
    run("rollouts", "advance", "ro1", "--from-stage", "1", "--json")
    assert stub.last.url.params["from_stage"] == "1"


def test_rollouts_create_sends_the_cohort_and_the_policy(stub: StubApi) -> None:
    stub.on("POST", "/admin/rollouts", rollout(), 201)
    flags = ["--cohort", "version < 1.2.0 and tag:site = berlin", "--rate", "20",
             "--ramp-base", "2", "--ramp-after", "5", "--jitter", "30", "--window",
             "02:00-04:30", "--install", "window", "--start-at", "2026-12-01T02:00:00Z",
             "--device-soak", "20", "--rollback", "--hold-inconclusive"]  # fmt: skip
    assert run("rollouts", "create", "1.2.0", *flags, "--json").exit_code == 0
    body = json.loads(stub.last.content)
    assert body["cohort"] == "version < 1.2.0 and tag:site = berlin"
    assert body["policy"] == {
        "rate": {"max_per_minute": 20,
                 "ramp": {"base_per_minute": 2, "factor": 2.0, "after_successes": 5}},
        "jitter_s": 30,
        "window": {"start": "02:00", "end": "04:30"},
        "install": "window",
        "start_at": "2026-12-01T02:00:00Z",
        "health": {"soak_minutes": 20.0},
        "rollback": True,
        "on_inconclusive": "hold",
    }  # fmt: skip


# ---- audit -------------------------------------------------------------------------------


def record(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "audit_id": f"a{seq}",
        "at": f"2026-11-0{seq}T10:00:00.000Z",
        "actor": {"type": "admin", "id": "ops"},
        "action": "device.revoke",
        "target": {"type": "device", "id": DEVICE},
        "request_id": f"r{seq}",
        "client_ip": "127.0.0.1",
        "summary": {},
    }


def exported(stub: StubApi, texts: dict[str, str], anchors: list[dict[str, Any]]) -> None:
    stub.on("GET", "/admin/audit/exports", {"exports": anchors})
    for day, text in texts.items():
        stub.on(
            "GET",
            f"/admin/audit/exports/{day}",
            lambda r, text=text: httpx.Response(200, text=text),
        )


def chain_of_days() -> tuple[dict[str, str], list[dict[str, Any]]]:
    first = chain.export_day("2026-11-01", chain.GENESIS, [record(1)])
    second = chain.export_day("2026-11-02", first.last_hash, [record(2)])
    anchors = [
        {"day": e.day, "count": e.count, "prev_hash": e.prev_hash, "last_hash": e.last_hash}
        for e in (first, second)
    ]
    return {first.day: first.text, second.day: second.text}, anchors


def test_audit_verify_passes_an_intact_chain(stub: StubApi) -> None:
    texts, anchors = chain_of_days()
    exported(stub, texts, anchors)
    result = run("audit", "verify", "--json")
    assert result.exit_code == 0, result.output
    assert doc(result) | {"last_hash": None} == {
        "ok": True,
        "days": 2,
        "records": 2,
        "first_day": "2026-11-01",
        "last_day": "2026-11-02",
        "last_hash": None,
        "problems": [],
    }


def test_audit_verify_names_an_edited_record(stub: StubApi) -> None:
    texts, anchors = chain_of_days()
    texts["2026-11-01"] = texts["2026-11-01"].replace("device.revoke", "device.enable")
    exported(stub, texts, anchors)
    result = run("audit", "verify", "--json")
    assert result.exit_code == Exit.VERIFY
    assert any("seq 1 was edited" in p for p in doc(result)["problems"])


def test_audit_verify_catches_a_rewritten_day_by_its_anchor(stub: StubApi) -> None:
    texts, anchors = chain_of_days()
    forged = chain.export_day("2026-11-02", anchors[0]["last_hash"], [record(2) | {"action": "x"}])
    texts["2026-11-02"] = forged.text  # consistent in itself: only the database's anchor knows
    exported(stub, texts, anchors)
    result = run("audit", "verify")
    assert result.exit_code == Exit.VERIFY
    assert "database's anchor" in result.stderr


def test_audit_verify_reports_a_missing_file(stub: StubApi) -> None:
    texts, anchors = chain_of_days()
    del texts["2026-11-01"]
    exported(stub, texts, anchors)
    verdict = audit_verify.verify(
        client.Api(httpx.Client(base_url="http://x", transport=httpx.MockTransport(stub.handle)))
    )
    assert not verdict["ok"]
    assert any("2026-11-01: the export file is missing" in p for p in verdict["problems"])


def test_audit_tail_pages_and_filters(stub: StubApi) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") is None:
            return reply({"records": [record(3), record(2)], "next_cursor": "c2"})
        return reply({"records": [record(1)], "next_cursor": None})

    stub.on("GET", "/admin/audit", pages)
    result = run("audit", "tail", "--action", "device.revoke", "--limit", "3", "--json")
    assert [r["seq"] for r in doc(result)["records"]] == [3, 2, 1]
    assert stub.requests[0].url.params["action"] == "device.revoke"
    assert stub.requests[1].url.params["limit"] == "1"


def test_audit_follow_prints_new_records_as_json_lines(stub: StubApi) -> None:
    pages = [
        reply({"records": [record(1)], "next_cursor": None}),
        reply({"records": [record(2), record(1)], "next_cursor": None}),
    ]
    stub.on("GET", "/admin/audit", pages)
    result = run("audit", "tail", "-f", "--interval", "0.1", "--duration", "0.25", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [1, 2]


# ---- firmware ----------------------------------------------------------------------------


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    private, public = generate_keypair()
    (tmp_path / "private.pem").write_bytes(private)
    (tmp_path / "public.pem").write_bytes(public)
    return tmp_path / "private.pem", tmp_path / "public.pem"


def test_firmware_build_sign_verify(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    image, manifest = tmp_path / "f.bin", tmp_path / "f.manifest.json"
    built = run(
        "firmware",
        "build",
        "--model",
        "RS-1",
        "--version",
        "1.2.0",
        "--size",
        "4096",
        "--out",
        str(image),
        "--json",
    )
    assert doc(built)["size"] == 4096
    signed = run("firmware", "sign", str(image), "--key", str(keypair[0]), "--json")
    assert signed.exit_code == 0, signed.output
    assert doc(signed)["manifest"] == str(manifest) and doc(signed)["version"] == "1.2.0"
    ok = run("firmware", "verify", str(image), str(manifest), "--pubkey", str(keypair[1]), "--json")
    assert ok.exit_code == 0 and doc(ok)["ok"] is True
    image.write_bytes(image.read_bytes()[:-1] + b"\0")
    bad = run(
        "firmware", "verify", str(image), str(manifest), "--pubkey", str(keypair[1]), "--json"
    )
    assert bad.exit_code == Exit.VERIFY and doc(bad)["error"] == "sha256_mismatch"


def test_firmware_sign_refuses_a_relabelled_image(
    tmp_path: Path, keypair: tuple[Path, Path]
) -> None:
    image = tmp_path / "f.bin"
    image.write_bytes(build_image("RS-1", "1.2.0", 1024))
    result = run(
        "firmware", "sign", str(image), "--version", "1.3.0", "--key", str(keypair[0]), "--json"
    )
    assert result.exit_code == Exit.INVALID and doc(result)["error"] == "header_mismatch"


def test_firmware_publish_streams_the_image_with_its_manifest(
    stub: StubApi, tmp_path: Path, keypair: tuple[Path, Path]
) -> None:
    image = tmp_path / "f.bin"
    image.write_bytes(build_image("RS-1", "1.2.0", 200_000))
    run("firmware", "sign", str(image), "--key", str(keypair[0]))
    stored = {"model": "RS-1", "version": "1.2.0", "created": True}
    stub.on("PUT", "/admin/firmware/RS-1/1.2.0", stored, 201)
    result = run("firmware", "publish", str(image), str(tmp_path / "f.manifest.json"), "--json")
    assert result.exit_code == 0, result.output
    assert doc(result) == stored and result.stderr == ""
    sent = stub.last
    assert sent.content == image.read_bytes()
    assert sent.headers["content-length"] == "200000" and "transfer-encoding" not in sent.headers
    manifest = json.loads(base64.b64decode(sent.headers["x-rs1-manifest"]))
    assert manifest["sha256"] and manifest["version"] == "1.2.0"


def test_the_fleet_keeps_its_enrolment_api() -> None:
    from rs1tools import rs1ctl

    assert callable(rs1ctl.enroll_batch) and callable(rs1ctl.read_macs)
    assert callable(rs1ctl.write_secrets)
