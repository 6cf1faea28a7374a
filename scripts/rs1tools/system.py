"""The whole local system: the three Workers (LocalStack) plus the EMQX-compatible local
broker in its own process, wired to each other the way production's EMQX and Workers are."""

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rs1tools.devvars import secret
from rs1tools.faults import FaultControl
from rs1tools.localstack import (
    DEFAULT_PORTS,
    ROOT,
    LocalStack,
    end_group,
    free_port,
    signals_deferred,
    spawn,
    stop_group,
)

# Turned into SystemExit so that __exit__ runs, as Ctrl-C's KeyboardInterrupt already does:
# a supervisor's, container runtime's or CI's SIGTERM, and SIGHUP from a closed terminal.
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


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
    # The host's fault injection, switched through fault_control() (rs1tools.faults).
    faults: bool = False
    isolates: int | None = None  # Pyodide isolates per Worker (None: the host's default)
    _handlers: dict[int, Any] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def on_free_ports(
        cls,
        state_dir: Path,
        *,
        worker_vars: dict[str, str] | None = None,
        faults: bool = False,
        isolates: int | None = None,
    ) -> "LocalSystem":
        ports = {n: free_port() for n in ("device_api", "ota", "telemetry")}
        worker_vars = {} if worker_vars is None else worker_vars
        return cls(
            state_dir,
            ports,
            free_port(),
            free_port(),
            worker_vars=worker_vars,
            faults=faults,
            isolates=isolates,
        )

    @property
    def emqx_api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def broker_ledger(self) -> Path:
        """The broker's ledger file (rs1broker --ledger-file), in the state directory."""
        return self.state_dir / "broker-ledger.jsonl"

    @property
    def urls(self) -> dict[str, str]:
        """The Workers' base URLs, by name (device_api, ota, telemetry); once started."""
        if self.stack is None:
            raise RuntimeError("the local system is not started")
        return self.stack.urls

    def running(self) -> bool:
        """Whether the Workers host and the broker both still run."""
        host = self.stack.process if self.stack else None
        return (
            host is not None
            and self.broker is not None
            and host.poll() is None
            and self.broker.poll() is None
        )

    def start(self) -> float:
        started = time.monotonic()
        worker_vars = {"EMQX_API_URL": self.emqx_api_url, **self.worker_vars}
        ports = self.ports or dict(DEFAULT_PORTS)
        # Only what is asked for: a stand-in stack (the workerd kit's) may not know these.
        extra: dict[str, Any] = {"faults": True} if self.faults else {}
        if self.isolates is not None:
            extra["isolates"] = self.isolates
        self.stack = LocalStack(
            state_dir=self.state_dir, ports=ports, worker_vars=worker_vars, **extra
        )
        self.stack.start()
        self._start_broker()
        return time.monotonic() - started

    def fault_control(self) -> FaultControl:
        """The Workers host's fault injection (needs faults=True)."""
        if self.stack is None:
            raise RuntimeError("the local system is not started")
        return FaultControl(self.stack.control_url)

    def restart_host(self, kill: bool = False) -> float:
        """Restart the Workers host (SIGKILL with kill=True) on the same ports and state; the
        broker stays up. Returns seconds from the stop until every Worker is healthy."""
        if self.stack is None:
            raise RuntimeError("the local system is not started")
        return self.stack.restart(kill=kill)

    def restart_broker(self, kill: bool = False) -> float:
        """Stop the broker's process group (SIGKILL with kill=True) and start it again on the
        same MQTT and API ports; returns seconds from the stop until its /status answers."""
        if self.broker is None:
            raise RuntimeError("the local broker is not started")
        started = time.monotonic()
        end_group(self.broker, kill)
        self.broker = None
        self._start_broker()
        return time.monotonic() - started

    def _start_broker(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "WEBHOOK_SECRET": secret("WEBHOOK_SECRET"),
                "EMQX_API_KEY": secret("EMQX_API_KEY"),
                "RS1_WEBHOOK_BASE": self.urls["telemetry"],
                "PYTHONPATH": os.pathsep.join(
                    str(ROOT / p) for p in ("emqx", "workers", "scripts")
                ),
            }
        )
        with open(self.state_dir / "broker.log", "ab") as log:
            self.broker = spawn(
                [str(ROOT / ".venv" / "bin" / "python"), "-m", "rs1broker"]
                + ["--config", str(ROOT / "emqx" / "emqx.conf"), "--log-level", "warning"]
                + ["--mqtt-port", str(self.mqtt_port), "--api-port", str(self.api_port)]
                + ["--ledger-file", str(self.broker_ledger)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
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
        """Stop the broker and the Workers host, each with its whole process group. Safe to
        call again; bounded (see stop_group); a further signal waits until it is done."""
        with signals_deferred():
            if self.broker:
                stop_group(self.broker)
                self.broker = None
            if self.stack:
                self.stack.stop()

    def __enter__(self) -> "LocalSystem":
        # Our children have their own sessions (out of reach of signals to our group), so
        # each way of stopping us must run __exit__; a SIGKILL is left to spawn()'s prctl.
        self._handlers = {s: signal.signal(s, _raise_exit) for s in EXIT_SIGNALS}
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            for signum, handler in self._handlers.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
            self._handlers = {}
