"""The console's browser tests: Debian's chromium driven by Playwright (executable_path, no
browser download), a simulated fleet in a background thread (Playwright's sync API owns the
test's thread), and screenshots kept under test-artifacts/console/."""

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from rs1tools.fleet import Fleet, FleetConfig

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "console"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
# As the machine's probe ran it: no sandbox as root, and no background traffic to a network
# this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(browser: Browser, console: str, user: str, role: str = "user") -> Page:
    """A fresh browser context signed in through the dev sign-in form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(console)
    page.get_by_label("User id").fill(user)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"{user} ({role})")).to_be_visible()
    return page


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """axe-core's violations of these impacts on the page as it is now (evaluated through the
    devtools protocol, which the console's CSP does not govern)."""
    page.evaluate(AXE.read_text())
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in found
        if v["impact"] in impacts
    ]


def to_screen(page: Page, x_mm: int, y_mm: int) -> tuple[float, float]:
    """Where a point of the radar's plane (mm) is on the screen."""
    return page.evaluate(
        """([x, y]) => {
            const svg = document.querySelector('svg[aria-roledescription="zone canvas"]');
            const p = new DOMPoint(x, -y).matrixTransform(svg.getScreenCTM());
            return [p.x, p.y];
        }""",
        [x_mm, y_mm],
    )


@contextmanager
def fleet_running(config: FleetConfig, ota: Any = None) -> Iterator[Fleet]:
    """The fleet runs on its own event loop in a thread until the block ends."""
    started, holder = threading.Event(), {}
    loop = asyncio.new_event_loop()

    async def main() -> None:
        stop = asyncio.Event()
        holder["stop"] = stop
        async with Fleet(config, ota=ota) as fleet:
            holder["fleet"] = fleet
            started.set()
            await stop.wait()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # noqa: BLE001 — handed to the test below
            holder["error"] = exc
            started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(120):
        raise TimeoutError("the fleet did not start within 120 s")
    if "error" in holder:
        raise holder["error"]
    try:
        yield holder["fleet"]
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(60)
