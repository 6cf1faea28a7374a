"""System fixtures (a pytest plugin, tests/conftest.py): tests talk HTTP to the Workers'
base URLs. Used by tests/integration and tests/runtime_contract.

Set RS1_DEVICE_API_URL, RS1_OTA_URL and RS1_TELEMETRY_URL to test a running system (for
example `wrangler dev` on a machine with internet, or `make dev`), with RS1_ADMIN_TOKEN (an
admin session of that system) and, where the system has them: RS1_MQTT_PORT and
RS1_EMQX_API_URL (its broker), RS1_FIRMWARE_PRIVATE_KEY (the PEM file whose public key the
Workers trust), and WEBHOOK_SECRET (in the environment or .dev.vars). Tests that
need a part the system lacks skip, naming it. Otherwise one local runtime is started for the
session on free ports over a fresh state directory, and its whole process group is killed at
the end.
"""

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import access_idp
import httpx
import pytest

from helpers import FIRMWARE_KEYS, FirmwareKeys, envelope, random_mac
from rs1tools.console import ConsoleServer, web_origins
from rs1tools.devvars import secret
from rs1tools.localstack import free_port
from rs1tools.sessions import api_token, bearer, bootstrap_token
from rs1tools.system import LocalSystem

# The local Access stand-in's signing key (its JWKS is served to the local Workers).
SESSION_ACCESS_KEY = access_idp.new_key()

ENV_URLS = {
    "device_api": "RS1_DEVICE_API_URL",
    "ota": "RS1_OTA_URL",
    "telemetry": "RS1_TELEMETRY_URL",
}


@dataclass
class System:
    urls: dict[str, str]
    state_dir: Path | None  # None when testing an external system
    mqtt_port: int | None = None  # the local broker (None: not available)
    emqx_api_url: str | None = None
    broker_ledger: Path | None = None  # the local broker's ledger tap (--ledger-file)
    console_port: int | None = None  # where the web console may be served (a WEB_ORIGINS entry)

    def client(self, worker: str) -> httpx.Client:
        return httpx.Client(base_url=self.urls[worker], timeout=30)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path) or "/runtime_contract/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def access_key(system):
    """The local Access stand-in's signing key (its JWKS is served to the Workers)."""
    if system.state_dir is None:
        pytest.skip("needs Workers that trust this session's test Access IdP (local runtime)")
    return SESSION_ACCESS_KEY


@pytest.fixture(scope="session")
def firmware_keys(system) -> FirmwareKeys:
    """The release key the Workers trust: this session's, or RS1_FIRMWARE_PRIVATE_KEY's."""
    if system.state_dir is not None:
        return FIRMWARE_KEYS
    path = os.environ.get("RS1_FIRMWARE_PRIVATE_KEY")
    if not path:
        pytest.skip("needs the private key the Workers' FIRMWARE_PUBLIC_KEY belongs to")
    return FirmwareKeys.from_private_pem(Path(path).read_bytes())


@pytest.fixture(scope="session")
def broker(system) -> int:
    """The MQTT port of the system's broker."""
    if system.mqtt_port is None:
        pytest.skip("needs the system's MQTT broker (RS1_MQTT_PORT, RS1_EMQX_API_URL)")
    return system.mqtt_port


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[access_idp.JwksServer]:
    server = access_idp.JwksServer(access_idp.jwks(SESSION_ACCESS_KEY))
    yield server
    server.close()


@pytest.fixture(scope="session")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[System]:
    if all(os.environ.get(v) for v in ENV_URLS.values()):
        urls = {k: os.environ[v].rstrip("/") for k, v in ENV_URLS.items()}
        port = os.environ.get("RS1_MQTT_PORT")
        yield System(urls, None, int(port) if port else None, os.environ.get("RS1_EMQX_API_URL"))
        return
    jwks_server = request.getfixturevalue("jwks_server")
    state_dir = tmp_path_factory.mktemp("rs1-state")
    console_port = free_port()
    local = LocalSystem.on_free_ports(
        state_dir,
        worker_vars={
            # The console's browser tests serve it on its own origin, as Pages does.
            "WEB_ORIGINS": web_origins(console_port),
            "FIRMWARE_PUBLIC_KEY": FIRMWARE_KEYS.public_b64,
            # Every test client is 127.0.0.1: the per-IP limit is unit-tested instead.
            "API_RATE_LIMIT_PER_MINUTE": "1000000",
            # Cloudflare Access, played by a local JWKS server (tests/access_idp.py).
            "ACCESS_JWKS_URL": jwks_server.url,
            "ACCESS_AUD": access_idp.AUDIENCE,
            "ACCESS_ISSUER": access_idp.ISSUER,
            # Live watchers' access re-checked every second (production: 60 s).
            "LIVE_RECHECK_S": "1",
            # Isolates trust a device found active for 3 s (production: 20 s), so tests of
            # revocation see the second kick soon.
            "AUTH_CACHE_TTL_S": "3",
        },
    )
    local.start()
    try:
        yield System(
            local.urls,
            state_dir,
            local.mqtt_port,
            local.emqx_api_url,
            local.broker_ledger,
            console_port,
        )
    finally:
        local.stop()


@pytest.fixture(scope="session")
def device_api(system: System) -> Iterator[httpx.Client]:
    with system.client("device_api") as client:
        yield client


@pytest.fixture(scope="session")
def ota(system: System) -> Iterator[httpx.Client]:
    with system.client("ota") as client:
        yield client


@pytest.fixture(scope="session")
def telemetry(system: System) -> Iterator[httpx.Client]:
    with system.client("telemetry") as client:
        yield client


@pytest.fixture(scope="session")
def admin(system: System) -> Iterator[httpx.Client]:
    """The device API with an admin session: written into the local KV SESSIONS with wrangler
    (as `rs1ctl token` does), or RS1_ADMIN_TOKEN for an external system."""
    if system.state_dir is None:
        token = os.environ.get("RS1_ADMIN_TOKEN") or pytest.skip("needs RS1_ADMIN_TOKEN")
    else:
        token = bootstrap_token("integration-tests", "admin", 7200, state_dir=system.state_dir)
    with system.client("device_api") as client:
        client.headers.update(bearer(token))
        yield client


@pytest.fixture(scope="session")
def user_token(admin: httpx.Client):
    """Live bearer tokens: `user_token(sub, role="user") -> JWT`, from POST /admin/sessions."""

    def _token(sub: str, role: str = "user") -> str:
        return api_token(admin, sub, role)

    return _token


@pytest.fixture(scope="session")
def as_user(system: System, user_token):
    """A factory of device-API clients signed in as `sub` (a fresh session each)."""

    def _client(sub: str) -> httpx.Client:
        client = system.client("device_api")
        client.headers.update(bearer(user_token(sub)))
        return client

    return _client


@pytest.fixture(scope="session")
def webhook(system: System) -> Iterator[httpx.Client]:
    """rs1-telemetry as EMQX calls it: with the X-Webhook-Secret header."""
    with system.client("telemetry") as client:
        client.headers["x-webhook-secret"] = secret("WEBHOOK_SECRET")
        yield client


@pytest.fixture
def enroll(admin: httpx.Client):
    """Enrol a fresh device; returns the API's answer (device_id, device_secret, ...)."""

    def _enroll(mac: str | None = None, model: str | None = None) -> dict:
        body = {"mac_address": mac or random_mac(), "model": model}
        response = admin.post("/admin/devices", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return _enroll


@pytest.fixture(scope="module")
def enroll_once(admin: httpx.Client) -> str:
    """One enrolled device per test module (for property tests that run many examples)."""
    response = admin.post("/admin/devices", json={"mac_address": random_mac()})
    assert response.status_code == 201, response.text
    return response.json()["device_id"]


@pytest.fixture(scope="session")
def drained(webhook: httpx.Client, admin: httpx.Client):
    """Wait until telemetry queued so far is stored: the webhook only queues rows, and the
    ingest consumer stores them a batch at a time. A barrier row is queued for a fresh device
    and awaited; the local queue (Miniflare's) delivers in order, one batch at a time, so
    everything queued before it is stored by then."""

    def _drained(timeout: float = 30.0) -> None:
        enrolled = admin.post("/admin/devices", json={"mac_address": random_mac()})
        barrier = enrolled.json()["device_id"]
        sent = webhook.post("/webhook/telemetry", json=envelope(barrier, "barrier"))
        assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            read = admin.get(f"/api/devices/{barrier}/telemetry", params={"from": 0})
            if read.json()["items"]:
                return
            time.sleep(0.1)
        raise TimeoutError(f"the ingest queue did not drain in {timeout} s")

    return _drained


@pytest.fixture(scope="session")
def console(system: System, admin: httpx.Client) -> Iterator[str]:
    """The web console's URL: web/dist served on the origin the Workers allow, its dev sign-in
    backed by an admin session; or RS1_CONSOLE_URL for an external system's console."""
    if system.console_port is None:
        yield os.environ.get("RS1_CONSOLE_URL") or pytest.skip("needs RS1_CONSOLE_URL")
        return
    token = admin.headers["authorization"].removeprefix("Bearer ")
    with ConsoleServer(system.urls["device_api"], token, system.console_port) as server:
        yield server.url
