"""`make dev` stopped by a signal leaves nothing running: no Node host, workerd or broker, no
port held (the next `make dev` would fail on it).

Each scenario runs the real thing on free ports over a temporary state directory. They are
all started at once (module fixture) to keep the module near a single cold start; each test
waits for its own "ready", snapshots the process tree from /proc, signals, and checks that
every process of the snapshot is gone and every port can be bound again.

GNU make forwards SIGTERM to its recipe but not SIGINT or SIGHUP (it just waits for the
recipe): a terminal sends those to the whole foreground process group, as done here.
"""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rs1tools.localstack import ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

READY = "[dev] Ctrl-C to stop."
READY_TIMEOUT = 180.0  # all scenarios start at once, on a shared CI machine
GONE_TIMEOUT = 30.0  # stop_group: 10 s per group before SIGKILL
PYTHON_DEV = [sys.executable, "-m", "rs1tools.dev"]
MAKE_DEV = ["make", "-s", "-o", "setup", "dev"]  # -o setup: no bootstrap in a test
PORT_NAMES = ("DEVICE_API", "OTA", "TELEMETRY", "MQTT", "EMQX_API", "CONSOLE")  # RS1_<name>_PORT

# name: (command, signal, sent to the whole process group as a terminal does)
SCENARIOS = {
    "make-SIGTERM": (MAKE_DEV, signal.SIGTERM, False),  # supervisor, container runtime, CI
    "make-SIGHUP": (MAKE_DEV, signal.SIGHUP, True),  # the terminal closed
    "SIGINT": (PYTHON_DEV, signal.SIGINT, False),  # Ctrl-C or `kill -INT`
    "SIGKILL": (PYTHON_DEV, signal.SIGKILL, False),  # no cleanup: the children's PDEATHSIG
}

Proc = tuple[int, str]  # pid and start time: a recycled pid is another process


@dataclass
class Dev:
    process: subprocess.Popen[bytes]
    output: Path
    ports: list[int]
    tree: set[Proc] = field(default_factory=set)

    def log(self) -> str:
        return self.output.read_text(errors="replace")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name: state, ppid, ... (None: gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _tree(root: int) -> set[Proc]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[Proc] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if fields := _stat(pid):
            found.add((pid, fields[19]))
            todo += children.get(pid, [])
    return found


def _alive(procs: set[Proc]) -> set[Proc]:
    """Those still running (a zombie waiting for its reaper is gone for our purposes)."""
    return {(p, t) for p, t in procs if (f := _stat(p)) and f[19] == t and f[0] != "Z"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_ports(count: int) -> list[int]:
    """Free ports below the ephemeral range: they are bound only a minute later, by which time
    an outgoing connection (ours or a concurrent suite's) may well hold any ephemeral one."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports: set[int] = set()
    while len(ports) < count:
        if _port_free(port := random.randrange(10000, max(low, 10001))):
            ports.add(port)
    return list(ports)


def _default_signals() -> None:
    # A test run under nohup or from a background job must not pass SIG_IGN on.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _start(command: list[str], state_dir: Path, ports: list[int]) -> Dev:
    env = {
        **os.environ,
        **{f"RS1_{name}_PORT": str(port) for name, port in zip(PORT_NAMES, ports, strict=True)},
        "RS1_STATE_DIR": str(state_dir),
        "RS1_ISOLATES": "1",  # a faster start; isolates play no part here
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("workers", "scripts", "emqx")),
    }
    output = state_dir / "dev.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, like a terminal's job
            preexec_fn=_default_signals,
        )
    return Dev(process, output, ports)


@pytest.fixture(scope="module")
def devs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Dev]]:
    selected = {  # only the scenarios this run will test (-k)
        item.callspec.params["scenario"]
        for item in request.session.items
        if item.path == request.path and isinstance(item, pytest.Function)
    }
    names = sorted(selected)
    ports = _free_ports(len(PORT_NAMES) * len(names))  # all at once: all distinct
    started = {
        name: _start(
            SCENARIOS[name][0], tmp_path_factory.mktemp(f"dev-{name}"), ports[i :: len(names)]
        )
        for i, name in enumerate(names)
    }
    yield started
    for dev in started.values():  # whatever a failed test left behind
        if dev.process.poll() is None:  # (else its pid may be another process's by now)
            dev.tree |= _tree(dev.process.pid)
        for pid, _ in _alive(dev.tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        dev.process.wait(10)


def _wait_ready(dev: Dev) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while READY not in dev.log():
        assert dev.process.poll() is None, f"exited with {dev.process.returncode}:\n{dev.log()}"
        assert time.monotonic() < deadline, f"not ready in {READY_TIMEOUT} s:\n{dev.log()}"
        time.sleep(0.5)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_signal_stops_the_whole_tree(devs: dict[str, Dev], scenario: str) -> None:
    dev = devs[scenario]
    _, signum, to_group = SCENARIOS[scenario]
    _wait_ready(dev)
    dev.tree = _tree(dev.process.pid)
    commands = " | ".join(_cmdline(pid) for pid, _ in dev.tree)
    for part in ("host.mjs", "workerd", "rs1broker"):  # the tree is what we think it is
        assert part in commands, commands
    assert not any(_port_free(port) for port in dev.ports), "not listening on its ports"

    if to_group:
        os.killpg(dev.process.pid, signum)
    else:
        dev.process.send_signal(signum)

    deadline = time.monotonic() + GONE_TIMEOUT
    while True:
        dev.process.poll()  # reaps the root, our own child
        if not (left := _alive(dev.tree)) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, "still running: " + " | ".join(_cmdline(pid) for pid, _ in left)
    held = [port for port in dev.ports if not _port_free(port)]
    assert not held, f"ports still held: {held}"
