"""`rs1ctl audit verify`: fetch the daily audit exports and check their hash chain.

Two checks: the files chain (rs1.audit.chain.verify: each day follows the one before, no
record edited, removed or reordered), and each day's computed last hash and record count equal
the database's anchor for that day (GET /admin/audit/exports), so a file rewritten whole —
consistently re-hashed — is caught too.
"""

from typing import Any

from rs1.audit import chain
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import CtlError, Exit


def exports(api: Api, since: str | None = None) -> list[dict[str, Any]]:
    rows = sorted(api.get("/admin/audit/exports")["exports"], key=lambda e: e["day"])
    return [e for e in rows if since is None or e["day"] >= since]


def fetch(api: Api, rows: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[str]]:
    """(day, JSONL text) of each export whose file is there; a problem for each missing one."""
    days: list[tuple[str, str]] = []
    problems: list[str] = []
    for row in rows:
        try:
            days.append((row["day"], api.call("GET", f"/admin/audit/exports/{row['day']}").text))
        except CtlError as exc:
            if exc.exit_code != Exit.NOT_FOUND:
                raise
            problems.append(f"{row['day']}: the export file is missing ({exc.error})")
    return days, problems


def anchor_problems(rows: list[dict[str, Any]], days: list[tuple[str, str]]) -> list[str]:
    """Days whose file does not end at the hash (or count) the database recorded."""
    anchors = {row["day"]: row for row in rows}
    problems: list[str] = []
    for day, text in days:
        alone = chain.verify([(day, text)])  # from the file's own prev_hash: this day only
        row = anchors[day]
        if alone.last_hash != row["last_hash"]:
            problems.append(
                f"{day}: the file ends at hash {alone.last_hash[:16]}…, the database's anchor "
                f"is {row['last_hash'][:16]}… (the file was rewritten)"
            )
        if alone.records != row["count"]:
            problems.append(f"{day}: {alone.records} records, the database recorded {row['count']}")
    return problems


def verify(api: Api, since: str | None = None) -> dict[str, Any]:
    """Every export from the first (from GENESIS) or from `since` (from that day's recorded
    prev_hash, for when older files were deleted on purpose)."""
    rows = exports(api, since)
    days, problems = fetch(api, rows)
    start = rows[0]["prev_hash"] if since and rows else chain.GENESIS
    verdict = chain.verify(days, prev_hash=start)
    problems += verdict.problems + anchor_problems(rows, days)
    return {
        "ok": not problems,
        "days": len(rows),
        "records": verdict.records,
        "first_day": rows[0]["day"] if rows else None,
        "last_day": rows[-1]["day"] if rows else None,
        "last_hash": verdict.last_hash,
        "problems": problems,
    }
