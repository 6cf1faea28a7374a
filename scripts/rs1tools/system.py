"""The whole local system: the three Workers (LocalStack) plus the EMQX-compatible local
broker in its own process, wired to each other the way production's EMQX and Workers are."""

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rs1tools.devvars import secret
from rs1tools.localstack import ROOT, LocalStack, free_port


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@dataclass
class LocalSystem:
    state_dir: Path = ROOT / ".state"
    ports: dict[str, int] | None = None  # Workers; None = the defaults (8787/8788/8789)
    mqtt_port: int = 1883
    api_port: int = 18083
    worker_vars: dict[str, str] = field(default_factory=dict)
    stack: LocalStack | None = None
    broker: subprocess.Popen[bytes] | None = None

    @classmethod
    def on_free_ports(cls, state_dir: Path, **kwargs: object) -> "LocalSystem":
        ports = {n: free_port() for n in ("device_api", "ota", "telemetry")}
        return cls(state_dir, ports, free_port(), free_port(), **kwargs)  # type: ignore[arg-type]

    @property
    def emqx_api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> float:
        started = time.monotonic()
        worker_vars = {"EMQX_API_URL": self.emqx_api_url, **self.worker_vars}
        kwargs = {"ports": self.ports} if self.ports else {}
        self.stack = LocalStack(state_dir=self.state_dir, worker_vars=worker_vars, **kwargs)
        self.stack.start()
        self._start_broker()
        return time.monotonic() - started

    def _start_broker(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "WEBHOOK_SECRET": secret("WEBHOOK_SECRET"),
                "EMQX_API_KEY": secret("EMQX_API_KEY"),
                "RS1_WEBHOOK_BASE": self.stack.urls["telemetry"],  # type: ignore[union-attr]
                "PYTHONPATH": os.pathsep.join(
                    str(ROOT / p) for p in ("emqx", "workers", "scripts")
                ),
            }
        )
        log = open(self.state_dir / "broker.log", "ab")  # noqa: SIM115
        self.broker = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "rs1broker"]
            + ["--config", str(ROOT / "emqx" / "emqx.conf"), "--log-level", "warning"]
            + ["--mqtt-port", str(self.mqtt_port), "--api-port", str(self.api_port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.broker.poll() is not None:
                raise RuntimeError(f"local broker exited with {self.broker.returncode}")
            try:
                if httpx.get(f"{self.emqx_api_url}/status", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("local broker did not start")

    def stop(self) -> None:
        if self.broker and self.broker.poll() is None:
            os.killpg(self.broker.pid, signal.SIGTERM)
            try:
                self.broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.broker.pid, signal.SIGKILL)
        if self.stack:
            self.stack.stop()

    def __enter__(self) -> "LocalSystem":
        # SIGTERM (CI timeouts, `kill`) must still run __exit__: our children live in their
        # own process groups and would otherwise outlive us.
        signal.signal(signal.SIGTERM, _raise_exit)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
