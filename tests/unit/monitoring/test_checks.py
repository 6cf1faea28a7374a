from hypothesis import given
from hypothesis import strategies as st

from rs1.monitoring import checks


@given(st.integers(1, 100_000), st.data())
def test_online_alert_fires_exactly_below_90_percent(registered: int, data) -> None:
    online = data.draw(st.integers(0, registered))
    assert checks.online_ratio(registered, online).firing == (online / registered < 0.9)


def test_no_devices_is_not_an_outage() -> None:
    assert not checks.online_ratio(0, 0).firing


@given(st.integers(0, 10_000), st.data())
def test_ota_alert_fires_above_2_percent(finished: int, data) -> None:
    failed = data.draw(st.integers(0, finished))
    finding = checks.ota_failure_rate("r1", failed, finished)
    assert finding.firing == (finished > 0 and failed / finished > 0.02)
    assert finding.alert_id == "ota_failure_rate:r1"


def test_ingest_deviation_needs_a_baseline() -> None:
    assert not checks.ingest_deviation(0, [0] * 12).firing  # nothing to compare with
    assert checks.ingest_deviation(50, [100] * 12).firing  # -50 %
    assert not checks.ingest_deviation(115, [100] * 12).firing  # +15 %
    assert checks.ingest_deviation(125, [100] * 12).firing  # +25 %


def test_api_error_rate_needs_enough_requests() -> None:
    assert not checks.api_error_rate(50, 50).firing
    assert checks.api_error_rate(1000, 11).firing
    assert not checks.api_error_rate(1000, 10).firing
