"""Every cron the telemetry Worker declares runs to completion (workerd answers a failed
scheduled handler with a 500): the daily backup binds nothing D1 refuses."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "wrangler.telemetry.toml"
CRONS = re.findall(r'"([^"]+)"', re.search(r"^crons = \[(.*)\]", CONFIG.read_text(), re.M)[1])


@pytest.mark.parametrize("cron", CRONS)
def test_each_declared_cron_completes(telemetry, enroll, cron: str) -> None:
    enroll()  # something to back up, roll up and monitor
    at = int(datetime.now(UTC).timestamp() * 1000)
    response = telemetry.get("/cdn-cgi/local/scheduled", params={"cron": cron, "time": at})
    assert response.status_code == 200, response.text
