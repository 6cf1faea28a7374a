"""Deterministic rollout cohorts.

    bucket = HMAC-SHA256(key = rollout_id, message = device_id) → first 8 bytes, mod 10000

A device is in a stage of `percent` when bucket < percent × 100. The bucket never changes for
a (rollout, device) pair, so raising the percent only adds devices, pausing and resuming
keeps the cohort, and a device enrolled later falls into the cohort it always would have.
"""

import hashlib
import hmac

BUCKETS = 10_000


def bucket(rollout_id: str, device_id: str) -> int:
    digest = hmac.new(rollout_id.encode(), device_id.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_cohort(rollout_id: str, device_id: str, percent: float) -> bool:
    return bucket(rollout_id, device_id) < round(percent * 100)
