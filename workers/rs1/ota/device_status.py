"""A device's progress through one rollout, as a forward-only state machine.

Statuses only move forward (by rank); a duplicate or late report of an earlier step is a
no-op, so EMQX retries and reordering are safe. `downloading` may repeat with the same or more
progress: a device waiting out a cloud outage sends its unchanged progress as a keep-alive
(every 60 s, firmware/README.md), and applying it refreshes progress_at, the clock of the
per-device timeout. Lower progress stays refused, and so does `downloading` after any later
step: a keep-alive never moves a row backwards, nor out of an end status.
Terminal: success, failed, timed_out, cancelled, skipped — except that a device marked
timed_out that later proves it finished (a late success/failure) is corrected.
"""

RANK = {
    "pending": 0,
    "triggered": 1,
    "downloading": 2,
    "verifying": 3,
    "downloaded": 4,  # install=window: verified, waiting for the window (migration 0010)
    "installing": 5,
    "rebooting": 6,
    "success": 9,
    "failed": 9,
    "timed_out": 9,
    "cancelled": 9,
    "skipped": 9,
}
FINAL = RANK["success"]  # every end status shares the top rank: no report moves past it
DEVICE_REPORTED = (
    "downloading", "verifying", "downloaded", "installing", "rebooting", "success", "failed"
)  # fmt: skip
IN_PROGRESS = ("triggered", "downloading", "verifying", "downloaded", "installing", "rebooting")
FINISHED = ("success", "failed", "timed_out")
FAILURES = ("failed", "timed_out")
CANCELLABLE = ("pending", "triggered", "downloading", "verifying", "downloaded")  # not installing


def accepts(
    current: str | None, current_progress: int | None, new: str, progress: int | None
) -> bool:
    if current is None:
        return True
    if current == "timed_out":
        return new in ("success", "failed")
    if RANK[current] >= FINAL:
        return False
    if new == current == "downloading":
        return (progress or 0) >= (current_progress or 0)  # equal: a keep-alive
    return RANK[new] > RANK[current]
