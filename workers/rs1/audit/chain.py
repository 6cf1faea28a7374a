"""The audit export's hash chain, shared by the daily export (rs1-telemetry) and
`rs1ctl audit verify`.

A day's export is JSON lines: a header `{"day", "prev_hash", "count"}`, then one line per
record, the record's fields plus `hash`. hash = sha256(previous hash + "\\n" + the record's
canonical JSON), the previous hash of a day's first record being the header's `prev_hash`:
the last hash of the day before (GENESIS before the first record ever). Every day gets a
file, empty days too, so a removed day breaks the next day's link.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(record)}".encode()).hexdigest()


@dataclass(frozen=True)
class DayExport:
    day: str
    prev_hash: str
    last_hash: str
    count: int
    text: str  # the JSONL file


def export_day(day: str, prev_hash: str, records: Iterable[dict[str, Any]]) -> DayExport:
    lines: list[str] = []
    current = prev_hash
    for record in records:
        current = link(current, record)
        lines.append(canonical({**record, "hash": current}))
    header = canonical({"day": day, "prev_hash": prev_hash, "count": len(lines)})
    return DayExport(day, prev_hash, current, len(lines), "\n".join([header, *lines]) + "\n")


@dataclass
class Verdict:
    days: int = 0
    records: int = 0
    last_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse(day: str, text: str, verdict: Verdict) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        # "\n" only: splitlines() would also split at U+2028 and the like inside a string.
        rows = [json.loads(line) for line in text.split("\n") if line.strip()]
    except json.JSONDecodeError as exc:
        verdict.problems.append(f"{day}: not JSON lines ({exc.msg} at line {exc.lineno})")
        return {}, []
    if not rows or not isinstance(rows[0], dict) or rows[0].get("day") != day:
        verdict.problems.append(f"{day}: the header is missing or names another day")
        return {}, []
    return rows[0], rows[1:]


def _check_day(
    day: str, text: str, prev: str, last_seq: int | None, verdict: Verdict
) -> int | None:
    header, rows = _parse(day, text, verdict)
    if not header:
        return last_seq
    if header.get("prev_hash") != prev:
        verdict.problems.append(
            f"{day}: does not follow the day before (a day was removed or edited)"
        )
    if header.get("count") != len(rows):
        verdict.problems.append(
            f"{day}: header says {header.get('count')} records, file has {len(rows)}"
        )
    current = header.get("prev_hash", prev)
    for row in rows:
        record = {k: v for k, v in row.items() if k != "hash"}
        seq = record.get("seq")
        if last_seq is not None and seq != last_seq + 1:
            verdict.problems.append(f"{day}: record seq {seq} follows {last_seq} (records missing)")
        current = link(current, record)
        if row.get("hash") != current:
            verdict.problems.append(f"{day}: record seq {seq} was edited (hash mismatch)")
            current = str(row.get("hash"))
        last_seq = seq if isinstance(seq, int) else last_seq
        verdict.records += 1
    verdict.last_hash = current
    verdict.days += 1
    return last_seq


def verify(days: Sequence[tuple[str, str]], prev_hash: str = GENESIS) -> Verdict:
    """Check consecutive days' exports ((day, text), oldest first) from `prev_hash` on."""
    verdict = Verdict(last_hash=prev_hash)
    last_seq: int | None = None
    previous: date | None = None
    for day, text in days:
        this = date.fromisoformat(day)
        if previous is not None and this != previous + timedelta(days=1):
            verdict.problems.append(f"{day}: follows {previous.isoformat()} (days missing)")
        previous = this
        last_seq = _check_day(day, text, verdict.last_hash, last_seq, verdict)
    return verdict
