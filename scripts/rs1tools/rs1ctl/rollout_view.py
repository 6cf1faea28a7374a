"""A rollout (GET /admin/rollouts/{id}) as a rich view: per-stage progress, the device counts,
the 95% Wilson interval of the failure rate against the rollout's threshold (2% by default),
and an ETA from the success rate seen while watching."""

from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

IN_FLIGHT = ("triggered", "downloading", "verifying", "downloaded", "installing", "rebooting")
FINISHED = ("success", "failed", "timed_out", "soak_failed")
OUT_OF_COHORT = ("skipped", "cancelled")  # never going to install this rollout
ENDED = ("completed", "aborted")
Rollout = dict[str, Any]


def count(r: Rollout, *statuses: str) -> int:
    return sum(int(r["counts"].get(s, 0)) for s in statuses)


def cohort(r: Rollout) -> int:
    """Devices taking part so far (the current stage's cohort)."""
    return sum(int(n) for n in r["counts"].values()) - count(r, *OUT_OF_COHORT)


def stage_progress(r: Rollout) -> list[float]:
    """Per stage, the share finished: earlier stages 1, later 0, the current one its
    finished/cohort (every stage 1 once the rollout completed)."""
    current, stages = int(r["current_stage"]), r["stages"]
    if r["status"] == "completed":
        return [1.0] * len(stages)
    members = cohort(r)
    now = count(r, *FINISHED) / members if members else 0.0
    return [1.0 if i < current else now if i == current else 0.0 for i in range(len(stages))]


def verdict(low: float, high: float, threshold: float) -> str:
    if high < threshold:
        return "below"  # confident the rate is under the line: the stage may advance
    if low > threshold:
        return "above"  # confident it is over: the rollout aborts (after 2 failures)
    return "undecided"


def remaining(r: Rollout) -> float:
    """Devices still to finish in the whole rollout: the current cohort scaled from its
    stage's percent to the last stage's, less those finished."""
    members, stages = cohort(r), r["stages"]
    percent = float(stages[int(r["current_stage"])]["percent"])
    expected = members * float(stages[-1]["percent"]) / percent if percent else members
    return max(0.0, expected - count(r, *FINISHED))


@dataclass
class EtaTracker:
    """The success rate since the first poll of this watch, and what it predicts."""

    start_at: float | None = None
    start_success: int = 0

    def eta(self, r: Rollout, now: float) -> float | None:
        if r["status"] in ENDED:
            return 0.0
        success = count(r, "success")
        if self.start_at is None:
            self.start_at, self.start_success = now, success
            return None
        rate = (success - self.start_success) / (now - self.start_at) if now > self.start_at else 0
        return remaining(r) / rate if rate > 0 else None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
    )


def interval_bar(low: float, high: float, threshold: float, width: int = 40) -> Text:
    """0 … max(2 × threshold, high) with the interval drawn and the threshold marked '|'."""
    scale = min(1.0, max(2 * threshold, high)) or 1.0
    style = {"below": "green", "above": "red", "undecided": "yellow"}[verdict(low, high, threshold)]
    mark = min(width - 1, int(threshold / scale * width))
    bar = Text()
    for i in range(width):
        x = (i + 0.5) / width * scale
        if i == mark:
            bar.append("|", style="bold")
        else:
            bar.append("━" if low <= x <= high else "·", style=style if low <= x <= high else "dim")
    return bar


def _stages(r: Rollout) -> Table:
    grid = Table.grid(padding=(0, 1))
    for i, (stage, done) in enumerate(zip(r["stages"], stage_progress(r), strict=True)):
        marker = "▶" if i == int(r["current_stage"]) and r["status"] not in ENDED else " "
        label = Text(f"{marker} stage {i + 1} {stage['percent']:>5g}%")
        grid.add_row(label, ProgressBar(total=1.0, completed=done, width=30), Text(f"{done:4.0%}"))
    return grid


def _safety(r: Rollout) -> Text:
    low, high = (float(x) for x in r["failure_rate_ci95"])
    threshold = float(r["failure_threshold"])
    rate = r["failure_rate"]
    shown = "—" if rate is None else f"{rate:.1%}"
    head = (
        f"failure rate {shown} ({r['failures']}/{r['finished']}), 95% Wilson "
        f"[{low:.1%}, {high:.1%}] vs {threshold * 100:g}%: {verdict(low, high, threshold)}\n"
    )
    return Text(head).append_text(interval_bar(low, high, threshold))


def render(r: Rollout, eta_s: float | None = None) -> RenderableType:
    reason = f" ({r['status_reason']})" if r.get("status_reason") else ""
    title = Text(f"rollout {r['rollout_id']}  {r['model']} {r['firmware_version']}  ", style="bold")
    title.append(f"{r['status']}{reason}", style="bold cyan")
    figures = Text(
        f"success {count(r, 'success')}  failed {r['failures']}  "
        f"in flight {count(r, *IN_FLIGHT)}  soaking {count(r, 'soaking')}  "
        f"waiting {count(r, 'pending')}  skipped {count(r, 'skipped')}"
    )
    if r.get("rate"):
        figures.append(f"  rate {r['rate']['per_minute_now']}/min")
    cohort = r.get("cohort") or {}
    if cohort.get("query"):
        figures.append(f"\ncohort {cohort['query']!r}: {cohort['joined_after_start']} joined later")
    eta = Text(
        f"ETA {duration(eta_s)}" + ("" if r["status"] in ENDED else " (at the success rate seen)")
    )
    return Group(title, _stages(r), figures, _safety(r), eta)
