"""`make demo`: the whole local system with a simulated fleet.

Starts the three Workers and the EMQX-compatible local broker over a fresh state, uploads a
signed firmware image, boots a fleet of real MQTT clients (a few misbehave on purpose), lets
telemetry flow, runs a staged OTA rollout with rs1ctl's live rollout view, and prints a report
read back from the system's own admin API. The ops steps (firmware sign and publish, rollout
create/advance/watch, fleet status) go through rs1ctl's Python API, as `rs1ctl` would.
"""

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import aiohttp
import httpx
import typer
from rs1fw.images import build_image
from rs1fw.keys import KEYS_DIR, PRIVATE_NAME

from rs1.identity.claim import claim_code
from rs1.live.protocol import PROTOCOL
from rs1tools import crons
from rs1tools.cli import run as run_cli
from rs1tools.console import CONSOLE_PORT, local_console, web_origins
from rs1tools.devvars import ROOT, secret
from rs1tools.fleet import Fleet, FleetConfig, parse_faults
from rs1tools.fleet_ota import FirmwareOta
from rs1tools.ledger import Ledger
from rs1tools.ledger_sources import BrokerMetrics, take
from rs1tools.rs1ctl import firmware, output, rollouts
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import CtlError, Exit
from rs1tools.rs1ctl.fleet import status as fleet_status
from rs1tools.rs1ctl.rollout_view import IN_FLIGHT, EtaTracker, render
from rs1tools.sessions import api_token, bearer, bootstrap_token
from rs1tools.system import LocalSystem

MODEL, NEW_VERSION = "RS-1", "1.1.0"
STAGES = (10, 50, 100)
SITES = ("berlin", "paris")  # each simulated device reports one in its `state` tags
COHORT = "tag:site = berlin and online"
# A rate ramp (AWS IoT Jobs' model): 2 triggers a minute, doubled after every 3 successes, up
# to 40; each install soaks 20 s (reboots, telemetry silence, radar errors fail it).
POLICY = {
    "rate": {
        "max_per_minute": 40,
        "ramp": {"base_per_minute": 2, "factor": 2, "after_successes": 3},
    },
    "jitter_s": 2,
    "health": {"soak_minutes": 1 / 3, "silence_minutes": 1},
    # A small fleet cannot prove < 2% failures at 95%: ops advance each stage (below), rather
    # than the rollout extending an inconclusive stage by itself.
    "on_inconclusive": "hold",
}


OWNER = "demo-owner"  # claims one device and edits its zones (sign in as it in the console)


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def admin_client(url: str, state_dir: Path) -> httpx.Client:
    """An admin session written into the local KV SESSIONS, as `rs1ctl token` does."""
    token = bootstrap_token("demo", "admin", 3600, state_dir=state_dir)
    return httpx.Client(base_url=url, headers=bearer(token), timeout=60)


def upload_firmware(admin: httpx.Client) -> None:
    """`rs1ctl firmware build`, `sign` and `publish`, through rs1ctl's Python API."""
    image = build_image(MODEL, NEW_VERSION, 256 * 1024)
    private = (KEYS_DIR / PRIVATE_NAME).read_bytes()
    manifest = firmware.sign(image, private, MODEL, NEW_VERSION)
    firmware.publish(Api(admin), image, manifest)
    say(f"uploaded {MODEL} {NEW_VERSION} ({len(image)} bytes, ECDSA P-256 signed)")


def in_flight(r: dict) -> int:
    """Installing, soaking, or online and held back by the rate limit."""
    return sum(r["counts"].get(s, 0) for s in (*IN_FLIGHT, "soaking")) + r["waiting_online"]


def stage_done(r: dict) -> bool:
    """Nothing in flight; the last stage also waits for the rollout to complete by itself
    (unless only offline devices are left)."""
    if r["status"] != "active":
        return True
    if in_flight(r):
        return False
    last = r["current_stage"] + 1 == len(r["stages"])
    return not last or r["counts"].get("pending", 0) > 0


async def wait_stage(api: Api, rid: str, stage: int, limit_s: float) -> dict:
    """Poll until the stage is done or moved on, showing `rs1ctl rollouts watch`'s view (live
    on a TTY; elsewhere rich prints each stage's last view once)."""
    tracker, deadline = EtaTracker(), time.monotonic() + limit_s
    with output.live() as live:
        while True:
            r = await asyncio.to_thread(rollouts.get, api, rid)
            live.update(render(r, tracker.eta(r, time.monotonic())))
            if r["current_stage"] != stage or stage_done(r) or time.monotonic() > deadline:
                return r
            await asyncio.sleep(0.5)


async def advance(api: Api, rid: str, stage: int) -> dict:
    """`rs1ctl rollouts advance --from-stage`: a 409 means it moved on by itself meanwhile."""
    try:
        return await asyncio.to_thread(rollouts.act, api, rid, "advance", stage)
    except CtlError as exc:
        if exc.exit_code != Exit.CONFLICT:
            raise
        return await asyncio.to_thread(rollouts.get, api, rid)


async def tick(telemetry_url: str, every_s: float = 5.0) -> None:
    """rs1-telemetry's minute cron (timeouts, soaks, stages, the rate's next minute). The
    local host fires a cron only when asked, as `wrangler dev` does; the demo asks every 5 s
    so a 20 s soak ends in about 20 s, not at the next full minute."""
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(crons.fire, telemetry_url, crons.EVERY_MINUTE)


async def rollout(admin: httpx.Client, telemetry_url: str, targeted: bool = True) -> list[tuple]:
    """The demo's rollout: to a cohort under a rate ramp (targeted), or to every device at
    full speed (the benchmark's)."""
    ticker = asyncio.create_task(tick(telemetry_url))
    try:
        return await staged_rollout(admin, targeted)
    finally:
        ticker.cancel()


async def staged_rollout(admin: httpx.Client, targeted: bool) -> list[tuple]:
    api = Api(admin)
    body = {"firmware_version": NEW_VERSION, "model": MODEL, "timeout_minutes": 5,
            "stages": [{"percent": p} for p in STAGES]}  # fmt: skip
    if targeted:
        body |= {"cohort": COHORT, "policy": POLICY}
    else:
        body |= {"policy": {"health": {"soak_minutes": 0}}}
    r = await asyncio.to_thread(rollouts.create, api, body)
    rid, table, started = r["rollout_id"], [], time.monotonic()
    stages = " → ".join(f"{p}%" for p in STAGES)
    if targeted:
        say(f"rollout {rid} to the cohort {COHORT!r}: {stages}, 2 triggers/min doubling after"
            " every 3 successes (max 40), a 20 s health soak")  # fmt: skip
    else:
        say(f"rollout {rid}: {stages}")
    stage_started = time.monotonic()
    while True:
        stage = r["current_stage"]
        r = await wait_stage(api, rid, stage, 300)
        if r["current_stage"] != stage:  # the statistics allowed an automatic advance
            table.append(
                (stage + 1, STAGES[stage], dict(r["counts"]), time.monotonic() - stage_started)
            )
            say(f"stage {stage + 1} done; advanced automatically (95% upper bound < 2%)")
            stage_started = time.monotonic()
            await asyncio.sleep(2)  # let the new stage's triggers land before polling it
            continue
        table.append(
            (stage + 1, STAGES[stage], dict(r["counts"]), time.monotonic() - stage_started)
        )
        if r["status"] != "active" or stage + 1 == len(STAGES):
            break
        say(f"stage {stage + 1} done; advancing (ops: {r['finished']} devices cannot prove"
            " <2% failures at 95%, so no automatic advance)")  # fmt: skip
        r = await advance(api, rid, stage)
        stage_started = time.monotonic()
    waiting = r["counts"].get("pending", 0)
    say(f"rollout {r['status']} after {time.monotonic() - started:.1f} s; {waiting} offline"
        " device(s) get the trigger when they come back")  # fmt: skip
    if targeted:
        await asyncio.to_thread(show_ramp, api, rid)
    return table


def show_ramp(api: Api, rid: str) -> None:
    """The rate ramp, read back from the rollout's trigger timestamps."""
    rows = api.get(f"/admin/rollouts/{rid}/devices", params={"limit": 500})["devices"]
    times = sorted(r["triggered_at"] for r in rows if r["triggered_at"])
    if not times:
        return
    buckets: dict[int, int] = {}
    for t in times:
        buckets[(t - times[0]) // 10_000] = buckets.get((t - times[0]) // 10_000, 0) + 1
    busiest = max(sum(1 for u in times if t <= u < t + 60_000) for t in times)
    timeline = "  ".join(f"{10 * b}s:{n}" for b, n in sorted(buckets.items()))
    say(f"triggers per 10 s from the first: {timeline}")
    say(f"busiest minute: {busiest} triggers (rate cap 40); {len(times)} devices in the cohort")


def print_table(table: list[tuple]) -> None:
    print(f"\n  {'stage':<6}{'percent':>8}{'success':>9}{'failed':>8}{'skipped':>9}{'seconds':>9}")
    for stage, percent, counts, seconds in table:
        failed = counts.get("failed", 0) + counts.get("timed_out", 0)
        print(f"  {stage:<6}{percent:>7}%{counts.get('success', 0):>9}{failed:>8}"
              f"{counts.get('skipped', 0):>9}{seconds:>9.1f}")  # fmt: skip


async def zone_change(admin: httpx.Client, fleet: Fleet) -> None:
    """An owner claims a device with its label code, edits its zones, the device applies them."""
    device = next(d for d in fleet.devices if d.connected and d.fault is None)
    headers = bearer(api_token(admin, OWNER, "user", 600))
    async with httpx.AsyncClient(base_url=admin.base_url, headers=headers) as owner:
        code = claim_code(device.identity.device_secret)
        await owner.post(
            "/api/devices/claim", json={"device_id": device.device_id, "claim_code": code}
        )
        zones = {"zones": [{"name": "sofa", "vertices": [[-800, 1500], [800, 1500], [0, 2600]]},
                           {"name": "door", "type": "exclude",
                            "vertices": [[900, 3000], [1400, 3000], [1200, 3600]]}]}  # fmt: skip
        put = await owner.put(f"/api/devices/{device.device_id}/zones", json=zones,
                              headers={"if-match": "0"})  # fmt: skip
        version = put.json()["desired_version"]
        say(f"zone change v{version} for {device.device_id[:8]}… pushed over MQTT"
            f" (delivered={put.json()['delivered']})")  # fmt: skip
        await fleet.wait_until(lambda f: device.applied_version == version, 15)
        deadline = time.monotonic() + 15  # the device's ack travels broker → webhook → D1
        while True:
            shown = (await owner.get(f"/api/devices/{device.device_id}/zones")).json()
            if shown["applied_version"] == version or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        say(f"device applied v{device.applied_version}; the cloud sees applied_version"
            f" {shown['applied_version']} of desired {shown['desired_version']}")  # fmt: skip
        await watch_targets(str(admin.base_url), device.device_id, headers)


async def watch_targets(api: str, device_id: str, headers: dict[str, str]) -> None:
    """The owner watches the device's radar targets live over the WebSocket for a few seconds."""
    url = api.rstrip("/").replace("http", "ws", 1) + f"/api/devices/{device_id}/targets"
    token = headers["authorization"].split()[1]
    frames: list[dict] = []
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(url, protocols=(PROTOCOL, f"bearer.{token}"))
        deadline = time.monotonic() + 12  # the fan-out notices a new watcher within ~5 s
        while time.monotonic() < deadline and len(frames) < 3:
            try:
                message = await ws.receive_json(timeout=deadline - time.monotonic())
            except TimeoutError:
                break
            if message.get("type") == "targets":
                frames.append(message)
        await ws.close()
    people = [len(f["targets"]) for f in frames]
    say(f"live targets over a WebSocket ({PROTOCOL}): {len(frames)} frames, {people} targets")


def settled_overview(admin: httpx.Client, within_s: float = 30.0) -> dict:
    """/admin/fleet once the ingest queue has drained: the webhook queues telemetry and the
    consumer stores it a batch (up to 1 s) later, so wait until the row count holds still."""
    api = Api(admin)
    overview = fleet_status(api)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        time.sleep(1.5)
        again = fleet_status(api)
        if again["telemetry_rows"] == overview["telemetry_rows"]:
            return again
        overview = again
    return overview


def report(admin: httpx.Client, fleet: Fleet, led: Ledger) -> None:
    overview = settled_overview(admin)
    devices = overview["devices"]
    summary = fleet.summary()
    say("report (read back from the admin API / D1):")
    print(f"  devices registered {devices['registered']}, online {devices['online']}"
          f" ({(devices['online_ratio'] or 0):.0%})")  # fmt: skip
    versions = [(v["version"], v["devices"]) for v in overview["firmware_versions"]]
    print(f"  firmware versions  {versions}")
    print(f"  telemetry rows     {overview['telemetry_rows']} (exactly once, every shard)")
    for line in led.lines():
        print(f"  {line}")
    print(f"  security events    {overview['security_events']}")
    print(f"  refused connects   {summary.refused} {summary.refused_by_reason}")
    print(f"  open alerts        {overview['open_alerts']}")


def fresh(state: Path) -> Path:
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    return state


async def run(devices: int, seconds: float, state: Path) -> int:
    say("starting 3 Python Workers (Pyodide + Miniflare D1/KV/R2) and the local broker ...")
    port = int(os.environ.get("RS1_CONSOLE_PORT") or CONSOLE_PORT)
    origins = {"WEB_ORIGINS": web_origins(port)}
    with (
        LocalSystem(state_dir=state, worker_vars=origins) as system,
        local_console(system.urls["device_api"], state, port) as console,
    ):
        urls = system.urls
        for name, url in urls.items():
            say(f"  {name:<10} {url}")
        say(f"  broker     mqtt://127.0.0.1:{system.mqtt_port}  api {system.emqx_api_url}")
        say(f"  console    {console.url}  (while the demo runs: sign in as {OWNER} for the"
            " zone editor with live targets, or with role admin for ops)")  # fmt: skip
        admin = admin_client(urls["device_api"], state)
        upload_firmware(admin)
        ota = FirmwareOta(secret("FIRMWARE_PUBLIC_KEY"), urls["ota"], power_loss=0.05)
        config = FleetConfig(
            devices=devices, duration_s=None, mqtt_port=system.mqtt_port, api=urls["device_api"],
            admin_token=admin.headers["authorization"].split()[1],
            telemetry_interval_s=2.0, ramp_s=3.0, device_tags={"site": SITES},
            faults=parse_faults("wrong-password:0.02,foreign-topic:0.02,flaky:0.05"),
        )  # fmt: skip
        async with Fleet(config, ota=ota) as fleet:
            say(f"fleet of {devices} devices booting (2% wrong password, 2% trying other "
                "devices' topics, 5% flaky links) ...")  # fmt: skip
            await fleet.wait_until(lambda f: len(f.connected_ids()) >= devices * 0.95, 60)
            say(f"{len(fleet.connected_ids())} connected; telemetry flowing for {seconds:.0f} s")
            await asyncio.sleep(seconds)
            await zone_change(admin, fleet)
            table = await rollout(admin, urls["telemetry"])
            print_table(table)
            say("stopping the fleet; balancing the message ledger once the broker and the"
                " ingest queue have drained ...")  # fmt: skip
            led = await take_ledger(system, admin, fleet)
            report(admin, fleet, led)
        await ota.close()
    say("done; the system is stopped (state kept in " + str(state) + ")")
    return 1 if led.unexplained else 0


async def take_ledger(system: LocalSystem, admin: httpx.Client, fleet: Fleet) -> Ledger:
    def rows() -> int:
        return int(fleet_status(Api(admin))["telemetry_rows"])

    metrics = BrokerMetrics(system.emqx_api_url, secret("EMQX_API_KEY"))
    try:
        return await take(fleet, metrics, system.broker_ledger, [system.state_dir], rows)
    finally:
        metrics.close()


cli = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


@cli.command(help=(__doc__ or "").split("\n")[0])
def demo(
    devices: Annotated[int, typer.Option(min=1, help="Simulated devices")] = 100,
    seconds: Annotated[float, typer.Option(min=0, help="Telemetry before the zone change")] = 10.0,
    state: Annotated[Path, typer.Option(help="State directory (wiped)")] = ROOT / ".state" / "demo",
) -> None:
    raise typer.Exit(asyncio.run(run(devices, seconds, fresh(state))))


def main(argv: list[str] | None = None) -> int:
    return run_cli(cli, argv, "demo")


if __name__ == "__main__":
    sys.exit(main())
