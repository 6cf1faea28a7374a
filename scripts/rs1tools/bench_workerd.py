"""`make bench-workerd`: our Workers on real workerd beside a JavaScript anchor, as ratios.

Production runs workerd, and our own host is about 2x faster than it, so capacity is measured
here, on workerd, through the offline Pyodide kit (see README, "Performance"). Two `wrangler
dev --local` sessions run side by side:

- ours: rs1-telemetry alone (auth, ACL, telemetry webhook, /health);
- anchor: scripts/bench/anchor.mjs (what the spec's TypeScript does: trivial, MQTT auth with a
  D1 read and WebCrypto HMACs, one-INSERT telemetry) plus rs1-telemetry as the queue consumer.

Each case runs under wrk (16 connections, BENCH_SECONDS each, BENCH_ROUNDS interleaved rounds;
medians). The queue consumer is timed by filling the ingest queue from the anchor and counting
rows in D1. Without a kit (WORKERD_KIT or .workerd-kit/) it says so and exits 0.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rs1contract.topics import device_topic

from rs1.identity.keys import derive_device_secret, hour_of, mqtt_password
from rs1tools.devvars import ROOT, read_dev_vars, secret
from rs1tools.localstack import free_port, stop_group, tool_env

WORK = ROOT / ".bench-workerd"
KIT_FLAGS = [
    "python_workers",
    "python_workers_development",
    "no_python_workers_20250116",
    "no_python_workers_20260610",
]
CONNECTIONS = 16
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DEVICES = 1000  # ACL and telemetry publishers
WARM = 100  # auth (warm): devices re-authenticating within the access cache's TTL
COLD = 10_000  # per round: devices no isolate has seen, so every auth reads D1
QUEUE_MESSAGES = int(os.environ.get("BENCH_QUEUE_MESSAGES", "9000"))
DELAY_S = 4
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]  # case-name substrings


def kit_dir() -> Path | None:
    named = os.environ.get("WORKERD_KIT")
    kit = Path(named) if named else ROOT / ".workerd-kit"
    return kit if (kit / "workerd-offline.sh").exists() else None


# --- configs and state ---------------------------------------------------------------------


def derive(config: Path, out: Path) -> Path:
    """The config, re-rooted into WORK, with the kit's compat flags (the kit always runs its
    own Pyodide build, the `dev` release: README, "Performance")."""
    text = config.read_text()
    rel = os.path.relpath(config.parent, out.parent)
    text = re.sub(r'^(main|migrations_dir) = "', rf'\1 = "{rel}/', text, flags=re.M)
    if "python_workers" in text:
        flags = "compatibility_flags = " + json.dumps(KIT_FLAGS)
        text = re.sub(r"^compatibility_flags = \[[^\]]*\]", flags, text, count=1, flags=re.M)
    out.write_text(text)
    return out


def prepare() -> tuple[Path, Path]:
    WORK.mkdir(exist_ok=True)
    if not (WORK / "python_modules").exists():  # wrangler reads python_modules/ beside a config
        shutil.copytree(ROOT / "python_modules", WORK / "python_modules")
    shutil.copy(ROOT / ".dev.vars", WORK / ".dev.vars")
    telemetry = derive(ROOT / "wrangler.telemetry.toml", WORK / "wrangler.telemetry.toml")
    anchor = derive(ROOT / "scripts/bench/wrangler.anchor.toml", WORK / "wrangler.anchor.toml")
    return telemetry, anchor


def devices(start: int = 0, count: int = DEVICES) -> list[str]:
    return [f"{i:032x}" for i in range(start, start + count)]


def cold_devices(round_no: int) -> list[str]:
    return devices(DEVICES + round_no * COLD, COLD)


def wrangler(args: list[str], timeout: float = 180) -> None:
    command = ["npx", "wrangler", *args]
    subprocess.run(
        command,
        cwd=ROOT,
        env=tool_env({"CI": "true"}),
        check=True,
        capture_output=True,
        timeout=timeout,
    )


def seed(state: Path) -> None:
    """Migrations and the bench's active devices (generation 1), as enrolment leaves them."""
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", str(state)])
    ids = devices(0, DEVICES + ROUNDS * COLD)
    sql = WORK / "seed.sql"
    with sql.open("w") as out:
        for start in range(0, len(ids), 500):
            values = ",".join(
                f"('{d}', '02:BE:{i >> 24:02X}:{i >> 16 & 255:02X}:"
                f"{i >> 8 & 255:02X}:{i & 255:02X}')"
                for i, d in enumerate(ids[start : start + 500], start)
            )
            out.write(f"INSERT INTO devices (device_id, mac_address) VALUES {values};\n")
    wrangler(["d1", "execute", "DB", "--local", "--persist-to", str(state), "--file", str(sql)])


# --- sessions ------------------------------------------------------------------------------


@dataclass
class Session:
    name: str
    configs: list[Path]
    state: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    ready_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, kit: Path) -> None:
        self.port = free_port()
        env = tool_env(
            {
                "MINIFLARE_WORKERD_PATH": str(kit / "workerd-offline.sh"),
                "WORKERD_REAL_PATH": str(ROOT / "node_modules/workerd/bin/workerd"),
            }
        )
        command = [
            "npx",
            "wrangler",
            "dev",
            "--local",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--inspector-port",
            "0",
            "--persist-to",
            str(self.state),
            "--log-level",
            "warn",
        ]
        for config in self.configs:
            command += ["-c", str(config)]
        log = open(WORK / f"{self.name}.log", "wb")  # noqa: SIM115 (the child keeps it)
        started = time.monotonic()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_healthy(self.url, self.process, started + 300)
        self.ready_s = time.monotonic() - started

    def workerd_rss_mib(self) -> float:
        """RSS of the session's largest workerd process (the one running the Workers)."""
        assert self.process is not None
        sizes = [rss_kib(pid) for pid in group_pids(self.process.pid) if is_workerd(pid)]
        return max(sizes, default=0) / 1024

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)


def wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wrangler dev exited ({process.returncode}); see {WORK}/*.log")
        try:
            if httpx.get(f"{url}/health", timeout=30).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} not healthy in time")


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def is_workerd(pid: int) -> bool:
    try:
        return "workerd" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+)", status, flags=re.M)
    return int(found.group(1)) if found else 0


# --- load ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    session: str  # "ours" | "anchor"
    method: str
    path: str
    bodies: list[str]
    per_request: int = 1  # messages per request (msg/s = req/s x this)
    warm_up: bool = False  # send each body once first (the access cache holds them then)


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


LUA = """
local bodies = {%s}
local i = 0
local threads = 0
local headers = {["content-type"] = "application/json", ["x-webhook-secret"] = "%s"}
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
init = function(args)
  i = tid * math.floor(#bodies / 2)  -- the two threads start half the list apart
end
request = function()
  i = i %% #bodies + 1
  return wrk.format("%s", "%s", headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%f %%f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_wrk(url: str, case: Case, webhook_secret: str) -> Result:
    bodies = ",".join(lua_string(b) for b in case.bodies) or '""'
    script = WORK / f"{re.sub(r'[^a-z0-9]+', '-', case.name.lower())}.lua"
    script.write_text(LUA % (bodies, webhook_secret, case.method, case.path))
    command = [
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{SECONDS}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) (\S+) (\S+)$", out, flags=re.M)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    requests, micros, errors = (int(found.group(i)) for i in (1, 2, 3))
    return Result(requests / (micros / 1e6), float(found.group(4)), float(found.group(5)), errors)


def auth_body(master: str, device_id: str, hour: int, i: int) -> str:
    password = mqtt_password(derive_device_secret(master, device_id, 1), device_id, hour)
    return json.dumps(
        {
            "username": device_id,
            "password": password,
            "clientid": device_id,
            "peerhost": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        }
    )


def cases(round_no: int = 0) -> list[Case]:
    master = secret("DEVICE_MASTER_KEY")
    hour = hour_of(time.time())
    acl, envelopes = [], []
    now = int(time.time() * 1000)
    auth = [auth_body(master, d, hour, i) for i, d in enumerate(devices(0, WARM))]
    cold = [auth_body(master, d, hour, i) for i, d in enumerate(cold_devices(round_no))]
    for i, d in enumerate(devices()):
        topic = device_topic(d, "telemetry", "health")
        acl.append(
            json.dumps(
                {"username": d, "clientid": d, "action": "publish", "topic": topic, "qos": 1}
            )
        )
        payload = json.dumps(
            {
                "message_id": f"bench-{now}-{i}",
                "ts": now,
                "uptime_s": i,
                "free_heap": 1,
                "rssi": -50,
                "radar_ok": True,
            }
        )
        envelopes.append(
            json.dumps(
                {
                    "id": f"e{i}",
                    "clientid": d,
                    "username": d,
                    "topic": topic,
                    "payload": payload,
                    "qos": 1,
                    "timestamp": now,
                    "publish_received_at": now,
                }
            )
        )
    return [
        Case("JS trivial Worker", "anchor", "GET", "/health", []),
        Case("JS MQTT auth (D1 read + HMACs)", "anchor", "POST", "/webhook/mqtt-auth", auth),
        Case("JS telemetry (one D1 INSERT)", "anchor", "POST", "/webhook/telemetry", envelopes),
        Case(
            "ours POST /webhook/mqtt-auth (warm)",
            "ours",
            "POST",
            "/webhook/mqtt-auth",
            auth,
            warm_up=True,
        ),
        Case("ours POST /webhook/mqtt-auth (cold)", "ours", "POST", "/webhook/mqtt-auth", cold),
        Case("ours POST /webhook/mqtt-acl", "ours", "POST", "/webhook/mqtt-acl", acl),
        Case("ours telemetry, 1 message/request", "ours", "POST", "/webhook/telemetry", envelopes),
        Case("ours GET /health", "ours", "GET", "/health", []),
    ]


def expected(case: Case) -> str | None:
    """What a correct answer contains: a bench of refusals would measure the wrong path."""
    if case.path.endswith(("mqtt-auth", "mqtt-acl")):
        return '"result":"allow"'
    return '"accepted":1' if case.path.endswith("telemetry") else None


def check_answers(sessions: dict[str, Session], webhook_secret: str) -> None:
    headers = {"x-webhook-secret": webhook_secret}
    for case in cases():
        if (want := expected(case)) is not None:
            url = sessions[case.session].url + case.path
            answer = httpx.post(url, content=case.bodies[-1], headers=headers, timeout=30).text
            if want not in answer.replace(" ", ""):
                raise RuntimeError(f"{case.name}: expected {want}, got {answer}")


def send_each(url: str, case: Case, webhook_secret: str) -> None:
    with httpx.Client(base_url=url, headers={"x-webhook-secret": webhook_secret}) as http:
        for body in case.bodies:
            http.request(case.method, case.path, content=body).raise_for_status()


def measure(sessions: dict[str, Session], webhook_secret: str) -> dict[str, Result]:
    check_answers(sessions, webhook_secret)
    runs: dict[str, list[Result]] = {}
    for n in range(ROUNDS):
        for case in cases(n):
            if ONLY and not any(word in case.name for word in ONLY):
                continue
            if case.warm_up:
                send_each(sessions[case.session].url, case, webhook_secret)
            result = run_wrk(sessions[case.session].url, case, webhook_secret)
            runs.setdefault(case.name, []).append(result)
            print(
                f"[bench-workerd] round {n + 1}/{ROUNDS} {case.name}: {result.rps:.0f} req/s,"
                f" p99 {result.p99_ms:.0f} ms, {result.errors} errors",
                flush=True,
            )
    return {name: median(results) for name, results in runs.items()}


def median(results: list[Result]) -> Result:
    return Result(
        statistics.median(r.rps for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results),
    )


def consumer_rate(anchor: Session) -> float:
    """Messages per second the queue consumer stores into one D1. The anchor queues
    QUEUE_MESSAGES rows, all delivered DELAY_S later, so the consumer drains a full queue with
    no producer beside it on this 2-core machine (in production the producers are the
    webhook's isolates elsewhere); the rate is over the rows stored between 10% and 90%.
    At most ~9,000 at once: Miniflare's local broker holds a timer per queued message and
    workerd allows 10,000 active timers."""
    with httpx.Client(base_url=anchor.url, timeout=120) as http:
        before = http.get("/bench/count").json()["rows"]
        marks = (before + QUEUE_MESSAGES // 10, before + QUEUE_MESSAGES * 9 // 10)
        run = f"q{int(time.time() * 1000)}"
        for start in range(0, QUEUE_MESSAGES, 1000):
            n = min(1000, QUEUE_MESSAGES - start)
            http.post(f"/bench/fill?n={n}&run={run}-{start}&delay={DELAY_S}").raise_for_status()
        seen: dict[int, float] = {}
        deadline = time.monotonic() + 300
        while len(seen) < 2:
            rows = http.get("/bench/count").json()["rows"]
            for mark in marks:
                if rows >= mark and mark not in seen:
                    seen[mark] = time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer stored {rows - before} of {QUEUE_MESSAGES}")
            time.sleep(0.01)
    seconds = seen[marks[1]] - seen[marks[0]]
    print(
        f"[bench-workerd] queue: {QUEUE_MESSAGES} messages queued; the consumer stored"
        f" {marks[1] - marks[0]} of them in {seconds:.2f} s",
        flush=True,
    )
    return (marks[1] - marks[0]) / seconds


# --- report --------------------------------------------------------------------------------


def report(
    results: dict[str, Result],
    consumer: float,
    memory: dict[str, tuple[float, float]],
    ready: dict[str, float],
) -> dict:
    anchor = results["JS MQTT auth (D1 read + HMACs)"]
    missing = Result(0.0, 0.0, 0.0, 0)
    print(
        f"\n{'case (workerd)':<40}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
        f"{'x JS auth':>11}"
    )
    for name, r in results.items():
        print(
            f"{name:<40}{r.rps:>8.0f}{r.p50_ms:>8.1f}{r.p99_ms:>8.1f}{r.errors:>8}"
            f"{r.rps / anchor.rps:>11.2f}"
        )
    auth = results.get("ours POST /webhook/mqtt-auth (warm)", missing)
    cold = results.get("ours POST /webhook/mqtt-auth (cold)", missing)
    acl = results.get("ours POST /webhook/mqtt-acl", missing)
    single = results.get("ours telemetry, 1 message/request", missing)
    checks = {
        "auth (warm) >= 1.0x JS auth, p99 < 50 ms": auth.rps >= anchor.rps and auth.p99_ms < 50,
        "auth (cold: D1 read) >= 1.0x JS auth": cold.rps >= anchor.rps,
        "ACL >= 1.0x JS auth, p99 < 50 ms": acl.rps >= anchor.rps and acl.p99_ms < 50,
        "telemetry webhook cost <= 1.0x JS auth's": single.rps >= anchor.rps,
        "queue consumer >= 10,000 msg/s into one D1": consumer >= 10_000,
    }
    print(f"\nqueue consumer into one D1: {consumer:,.0f} msg/s")
    for name, (idle, loaded) in memory.items():
        print(f"memory {name}: {idle:.0f} MiB idle, {loaded:.0f} MiB after load (workerd RSS)")
    for name, seconds in ready.items():
        print(f"start {name}: {seconds:.1f} s to the first /health 200")
    print()
    for name, ok in checks.items():
        print(f"[bench-workerd] {name}: {'met' if ok else 'NOT met'}")
    return {
        "results": {k: v.__dict__ for k, v in results.items()},
        "queue_consumer_msg_s": consumer,
        "memory_mib": memory,
        "ready_s": ready,
        "checks": checks,
    }


def main() -> int:
    kit = kit_dir()
    if kit is None:
        print(
            "[bench-workerd] no workerd kit: set WORKERD_KIT to a directory built by the shared"
            " workerd-kit's build.sh (or put one at .workerd-kit/). Nothing measured."
        )
        return 0
    if shutil.which("wrk") is None:
        print("[bench-workerd] wrk is not installed (apt-get install wrk). Nothing measured.")
        return 0
    telemetry, anchor_config = prepare()
    sessions = {
        "ours": Session("ours", [telemetry], WORK / "state-ours"),
        "anchor": Session("anchor", [anchor_config, telemetry], WORK / "state-anchor"),
    }
    try:
        for s in sessions.values():
            print(f"[bench-workerd] seeding {s.name}: migrations + {DEVICES} devices", flush=True)
            seed(s.state)
            s.start(kit)
            print(f"[bench-workerd] {s.name} ready in {s.ready_s:.1f} s at {s.url}", flush=True)
        idle = {name: s.workerd_rss_mib() for name, s in sessions.items()}
        results = measure(sessions, read_dev_vars()["WEBHOOK_SECRET"])
        consumer = consumer_rate(sessions["anchor"])
        memory = {n: (idle[n], s.workerd_rss_mib()) for n, s in sessions.items()}
        ready = {n: s.ready_s for n, s in sessions.items()}
    finally:
        for s in sessions.values():
            s.stop()
    data = report(results, consumer, memory, ready)
    out = ROOT / ".bench"
    out.mkdir(exist_ok=True)
    (out / "workerd.json").write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
