"""The audit export's hash chain: what verifies, and that every kind of tampering is found."""

import json

from hypothesis import given
from hypothesis import strategies as st

from rs1.audit.chain import GENESIS, export_day, verify

RECORD = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["zones.write", "device.revoke", "api_key.create"]),
        "actor": st.fixed_dictionaries({"type": st.just("admin"), "id": st.text(max_size=8)}),
        "summary": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    }
)
DAYS = st.lists(st.lists(RECORD, max_size=4), min_size=1, max_size=4)


def exported(days: list[list[dict]]) -> list[tuple[str, str]]:
    out, prev, seq = [], GENESIS, 0
    for n, records in enumerate(days):
        numbered = []
        for record in records:
            seq += 1
            numbered.append({**record, "seq": seq})
        export = export_day(f"2026-11-{n + 1:02d}", prev, numbered)
        out.append((export.day, export.text))
        prev = export.last_hash
    return out


@given(DAYS)
def test_an_untouched_chain_verifies(days) -> None:
    verdict = verify(exported(days))
    assert verdict.ok, verdict.problems
    assert verdict.records == sum(len(d) for d in days) and verdict.days == len(days)


def _edit_line(text: str, index: int, change) -> str:
    lines = text.split("\n")[:-1]
    lines[index] = json.dumps(change(json.loads(lines[index])))
    return "\n".join(lines) + "\n"


@given(DAYS.filter(lambda d: any(d)), st.data())
def test_an_edited_record_is_found(days, data) -> None:
    files = exported(days)
    which = data.draw(st.sampled_from([i for i, d in enumerate(days) if d]))
    line = data.draw(st.integers(1, len(days[which])))
    day, text = files[which]
    files[which] = (day, _edit_line(text, line, lambda r: {**r, "action": r["action"] + "!"}))
    verdict = verify(files)
    assert not verdict.ok
    assert any(p.startswith(day) and "edited" in p for p in verdict.problems)


@given(DAYS.filter(lambda d: any(d)), st.data())
def test_a_removed_record_is_found(days, data) -> None:
    files = exported(days)
    which = data.draw(st.sampled_from([i for i, d in enumerate(days) if d]))
    day, text = files[which]
    lines = text.split("\n")[:-1]
    del lines[data.draw(st.integers(1, len(lines) - 1))]
    files[which] = (day, "\n".join(lines) + "\n")
    assert not verify(files).ok


@given(DAYS.filter(lambda d: len(d) >= 3), st.data())
def test_a_removed_day_is_found(days, data) -> None:
    files = exported(days)
    del files[data.draw(st.integers(1, len(files) - 2))]
    verdict = verify(files)
    assert not verdict.ok and any("missing" in p for p in verdict.problems)


def test_a_record_rehashed_by_the_editor_still_breaks_the_next_link() -> None:
    """Whoever edits a record and recomputes its hash breaks the record after it."""
    files = exported([[{"action": "a"}, {"action": "b"}]])
    day, text = files[0]
    lines = [json.loads(x) for x in text.split("\n")[:-1]]
    from rs1.audit.chain import link

    edited = {k: v for k, v in lines[1].items() if k != "hash"} | {"action": "evil"}
    lines[1] = {**edited, "hash": link(lines[0]["prev_hash"], edited)}
    tampered = "\n".join(json.dumps(x) for x in lines) + "\n"
    verdict = verify([(day, tampered)])
    assert not verdict.ok and any("seq 2" in p for p in verdict.problems)
