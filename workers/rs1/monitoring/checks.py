"""The spec's alert rules (architecture spec 11.1) as pure functions over measured values."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    alert_id: str
    kind: str
    subject: str | None
    firing: bool
    message: str
    value: float | None
    threshold: float


ONLINE_MIN_RATIO = 0.90
OTA_MAX_FAILURE_RATE = 0.02
INGEST_MAX_DEVIATION = 0.20
API_MAX_ERROR_RATE = 0.01
MIN_API_REQUESTS = 100  # fewer requests than this in a window say nothing about a rate
MIN_INGEST_BASELINE = 10  # messages per 5-minute window


def online_ratio(registered: int, online: int) -> Finding:
    ratio = online / registered if registered else 1.0
    return Finding(
        "devices_online",
        "devices_online",
        None,
        registered > 0 and ratio < ONLINE_MIN_RATIO,
        f"{online} of {registered} active devices online ({ratio:.1%}; alert below 90%)",
        ratio,
        ONLINE_MIN_RATIO,
    )


def ota_failure_rate(rollout_id: str, failed: int, finished: int) -> Finding:
    rate = failed / finished if finished else 0.0
    return Finding(
        f"ota_failure_rate:{rollout_id}",
        "ota_failure_rate",
        rollout_id,
        finished > 0 and rate > OTA_MAX_FAILURE_RATE,
        f"rollout {rollout_id}: {failed} of {finished} finished devices failed ({rate:.1%})",
        rate,
        OTA_MAX_FAILURE_RATE,
    )


def ingest_deviation(current: int, trailing: list[int]) -> Finding:
    baseline = sum(trailing) / len(trailing) if trailing else 0.0
    deviation = abs(current - baseline) / baseline if baseline else 0.0
    return Finding(
        "telemetry_ingest_rate",
        "telemetry_ingest_rate",
        None,
        baseline >= MIN_INGEST_BASELINE and deviation > INGEST_MAX_DEVIATION,
        f"{current} messages in the last 5 min vs a trailing average of {baseline:.1f}"
        f" ({deviation:.0%} off)",
        deviation,
        INGEST_MAX_DEVIATION,
    )


def api_error_rate(requests: int, errors: int) -> Finding:
    rate = errors / requests if requests else 0.0
    return Finding(
        "api_error_rate",
        "api_error_rate",
        None,
        requests >= MIN_API_REQUESTS and rate > API_MAX_ERROR_RATE,
        f"{errors} of {requests} requests answered 5xx in the last 5 min ({rate:.2%})",
        rate,
        API_MAX_ERROR_RATE,
    )
