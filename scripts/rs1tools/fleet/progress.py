"""Human output: the live progress line and the closing summary."""

import asyncio
from typing import TextIO

from rs1tools.fleet.runner import Fleet
from rs1tools.fleet.stats import FleetSummary


def progress_line(s: FleetSummary) -> str:
    return (
        f"[{s.duration_s:6.1f}s] online {s.connected_now}/{s.devices}"
        f" · sent {s.messages_sent} ({s.messages_per_s:.0f}/s) · acked {s.messages_acked}"
        f" · refused {s.refused} · reconnects {s.reconnects} · errors {s.errors}"
    )


async def show_progress(fleet: Fleet, stream: TextIO, every_s: float = 1.0) -> None:
    """Rewrite one terminal line about once a second until cancelled."""
    try:
        while True:
            await asyncio.sleep(every_s)
            stream.write("\r\x1b[2K" + progress_line(fleet.summary()))
            stream.flush()
    finally:
        stream.write("\r\x1b[2K")
        stream.flush()
