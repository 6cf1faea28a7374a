"""One chaos scenario's world: a fresh local system with fault injection, a fleet of real MQTT
clients, an admin session, rollouts, presence and the message ledger."""

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from rs1tools import ledger_sources
from rs1tools.demo import MODEL, NEW_VERSION, admin_client, upload_firmware
from rs1tools.devvars import secret
from rs1tools.faults import FaultControl, FaultRule
from rs1tools.fleet import Fleet, FleetConfig
from rs1tools.fleet_ota import FirmwareOta
from rs1tools.ledger import Ledger
from rs1tools.localstack import local_d1_query
from rs1tools.system import LocalSystem

ROLLOUT_CRON = "* * * * *"  # the rollout cron (timeouts, soaks, safety, stage advances)
IN_FLIGHT = ("triggered", "downloading", "verifying", "installing", "rebooting")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class ScenarioResult:
    name: str
    devices: int
    figures: dict[str, Any] = field(default_factory=dict)
    ledger: Ledger | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str, ok: bool, detail: object = "") -> None:
        self.checks.append(Check(name, bool(ok), str(detail)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "devices": self.devices,
            "ok": self.ok,
            "figures": self.figures,
            "ledger": self.ledger.to_dict() if self.ledger else None,
            "checks": [c.__dict__ for c in self.checks],
        }


def check_ledger(result: ScenarioResult) -> None:
    assert result.ledger is not None
    led = result.ledger
    result.check(
        "ledger balances (0 unexplained)",
        led.unexplained == 0,
        f"unexplained {led.unexplained} {led.unexplained_ids[:5]}",
    )
    result.check("no acknowledged message lost", led.fates.get("unexplained", 0) == 0)


def say(text: str) -> None:
    print(f"[chaos] {text}", flush=True)


class ChaosWorld:
    """`async with ChaosWorld(name, devices, root) as world:` — stopped on the way out."""

    def __init__(self, name: str, devices: int, root: Path) -> None:
        self.name = name
        self.devices = devices
        self.state = root / name
        if self.state.exists():
            shutil.rmtree(self.state)
        self.state.mkdir(parents=True)
        self.system = LocalSystem.on_free_ports(self.state, faults=True)
        self.old_states: list[Path] = []  # D1s the Workers were switched away from
        self.fleet: Fleet | None = None
        self.ota: FirmwareOta | None = None
        self._admin: httpx.Client | None = None
        self._metrics: ledger_sources.BrokerMetrics | None = None

    async def __aenter__(self) -> "ChaosWorld":
        started = self.system.start()
        self.broker_ledger = self.system.broker_ledger  # fixed, even if the state moves
        say(f"{self.name}: system up in {started:.1f} s (state {self.state})")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.fleet is not None:
            await self.fleet.stop()
        if self.ota is not None:
            await self.ota.close()
        for client in (self._admin, self._metrics):
            if client is not None:
                client.close()
        self.system.stop()

    # -- parts ------------------------------------------------------------------------------

    @property
    def admin(self) -> httpx.Client:
        if self._admin is None:
            self._admin = admin_client(self.system.urls["device_api"], self.state)
        return self._admin

    @property
    def metrics(self) -> ledger_sources.BrokerMetrics:
        if self._metrics is None:
            self._metrics = ledger_sources.BrokerMetrics(
                self.system.emqx_api_url, secret("EMQX_API_KEY")
            )
        return self._metrics

    @property
    def faults(self) -> FaultControl:
        return self.system.fault_control()

    def inject(self, *rules: FaultRule) -> None:
        self.faults.set(list(rules))

    def fleet_config(self, **overrides: Any) -> FleetConfig:
        base = FleetConfig(
            devices=self.devices,
            duration_s=None,
            mqtt_port=self.system.mqtt_port,
            api=self.system.urls["device_api"],
            admin_token=self.admin.headers["authorization"].split()[1],
            telemetry_interval_s=max(2.0, self.devices / 100),
            ramp_s=max(3.0, self.devices / 100),
            duplicate_rate=0.02,
        )
        return replace(base, **overrides)

    async def start_fleet(self, ota: bool = False, **overrides: Any) -> Fleet:
        if ota:
            self.ota = FirmwareOta(secret("FIRMWARE_PUBLIC_KEY"), self.system.urls["ota"])
        self.fleet = Fleet(self.fleet_config(**overrides), ota=self.ota)
        await self.fleet.start()
        everyone = await self.fleet.wait_until(
            lambda f: len(f.connected_ids()) == self.devices, 60 + self.devices / 10
        )
        say(
            f"{self.name}: {len(self.fleet.connected_ids())}/{self.devices} devices online"
            + ("" if everyone else " (not all)")
        )
        return self.fleet

    # -- reading the system back ------------------------------------------------------------

    def query(self, sql: str) -> list[dict[str, Any]]:
        return local_d1_query(self.state, sql)

    def cron(self, cron: str = ROLLOUT_CRON) -> int:
        url = f"{self.system.urls['telemetry']}/cdn-cgi/local/scheduled"
        return httpx.get(url, params={"cron": cron}, timeout=120).status_code

    def telemetry_rows(self) -> int:
        return int(self.admin.get("/admin/fleet").json()["telemetry_rows"])

    async def take_ledger(self) -> Ledger:
        """Stop the fleet, let everything drain, then balance the message ledger."""
        assert self.fleet is not None
        states = (*self.old_states, self.state)
        return await ledger_sources.take(
            self.fleet, self.metrics, self.broker_ledger, states, self.telemetry_rows
        )

    def switch_state(self, target: Path) -> float:
        """Point the Workers at another state directory (a restored D1): a host restart."""
        assert self.system.stack is not None
        self.old_states.append(self.state)
        seconds = self.system.stack.switch_d1(target)
        self.state = self.system.state_dir = target
        return seconds

    def presence(self) -> dict[str, bool]:
        rows = self.query("SELECT device_id, online FROM devices")
        return {str(r["device_id"]): bool(r["online"]) for r in rows}

    # -- rollouts -----------------------------------------------------------------------------

    def upload(self) -> None:
        upload_firmware(self.admin)

    def start_rollout(self, stages: tuple[int, ...], timeout_minutes: float = 5) -> str:
        body = {
            "firmware_version": NEW_VERSION,
            "model": MODEL,
            "timeout_minutes": timeout_minutes,
            "stages": [{"percent": p} for p in stages],
            # The scenarios judge delivery, not firmware health: installs count at once.
            "policy": {"health": {"soak_minutes": 0}},
        }
        ok = (201, 409)  # 409: maybe our own, committed by an attempt that answered 503
        response = self._retrying(lambda: self.admin.post("/admin/rollouts", json=body), ok)
        if response.status_code == 201:
            return str(response.json()["rollout_id"])
        live = response.json().get("details") or {}
        if live.get("firmware_version") != NEW_VERSION:
            response.raise_for_status()
        return str(live["rollout_id"])

    def rollout(self, rollout_id: str) -> dict[str, Any]:
        return self._retrying(lambda: self.admin.get(f"/admin/rollouts/{rollout_id}")).json()

    def advance(self, rollout_id: str, stage: int) -> None:
        path = f"/admin/rollouts/{rollout_id}/advance?from_stage={stage}"
        self._retrying(lambda: self.admin.post(path), ok=(200, 409))

    @staticmethod
    def _retrying(
        call: Callable[[], httpx.Response], ok: tuple[int, ...] = (200, 201)
    ) -> httpx.Response:
        """Ops' CLI retries a 503 (a storage fault): so does the harness, a bounded while."""
        response = call()
        for _ in range(60):
            if response.status_code in ok:
                return response
            if response.status_code != 503:
                break
            time.sleep(0.5)
            response = call()
        response.raise_for_status()
        return response

    async def drive_rollout(
        self, rollout_id: str, limit_s: float, tick_s: float = 5.0
    ) -> dict[str, Any]:
        """Advance stage by stage once nothing is in flight, firing the rollout cron every
        tick_s (production fires it every 5 minutes); until it completes or aborts."""
        deadline = time.monotonic() + limit_s
        last_tick = 0.0
        while True:
            r = await asyncio.to_thread(self.rollout, rollout_id)
            if r["status"] != "active" or time.monotonic() > deadline:
                return r
            if time.monotonic() - last_tick >= tick_s:
                await asyncio.to_thread(self.cron)
                last_tick = time.monotonic()
            in_flight = sum(r["counts"].get(s, 0) for s in IN_FLIGHT)
            last = r["current_stage"] + 1 == len(r["stages"])
            if not in_flight and not last and not r["counts"].get("pending", 0):
                await asyncio.to_thread(self.advance, rollout_id, r["current_stage"])
            await asyncio.sleep(1.0)

    def device_rows(self, rollout_id: str) -> list[dict[str, Any]]:
        return self.query(
            "SELECT device_id, status, error_message FROM ota_device_status"
            f" WHERE rollout_id = '{rollout_id}'"
        )
