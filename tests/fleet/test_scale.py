"""How many devices one process sustains (slow; RS1_FLEET_SCALE=1 to run, ~40 s).

The same measurement as `python -m rs1tools.fleet.scale`: 1,000 devices at a 5 s telemetry
interval for 20 s against a plain amqtt broker in its own process.
"""

import pytest

from rs1tools.fleet.scale import run_scale

DEVICES, DURATION_S, INTERVAL_S = 1000, 20.0, 5.0


@pytest.mark.slow
def test_one_process_sustains_a_thousand_devices() -> None:
    result = run_scale(DEVICES, DURATION_S, INTERVAL_S)
    summary = result["summary"]
    assert isinstance(summary, dict)
    print(result)
    assert summary["connected"] == summary["connected_now"] == DEVICES
    assert summary["errors"] == 0 and summary["drops"] == 0
    # boots are ramped over 5 s and first ticks jittered over one interval, so ~80% of the
    # steady-state rate is what a healthy run averages over 20 s
    assert summary["messages_per_s"] >= 0.7 * DEVICES * 3 / INTERVAL_S
    assert summary["messages_acked"] >= 0.99 * summary["messages_sent"]
