"""The local cron schedule: wrangler.telemetry.toml's crons fire in the minutes they name."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rs1tools.crons import EVERY_MINUTE, due, schedule

DAY = datetime(2026, 11, 28, tzinfo=UTC)


def test_the_schedule_is_the_telemetry_workers() -> None:
    assert set(schedule()) == {"0 * * * *", "*/5 * * * *", "15 3 * * *", EVERY_MINUTE}


@given(st.integers(0, 7 * 24 * 60 - 1))
def test_each_cron_fires_in_the_minutes_it_names(minutes: int) -> None:
    at = DAY + timedelta(minutes=minutes)
    assert due(EVERY_MINUTE, at)
    assert due("*/5 * * * *", at) == (at.minute % 5 == 0)
    assert due("0 * * * *", at) == (at.minute == 0)
    assert due("15 3 * * *", at) == (at.hour == 3 and at.minute == 15)
