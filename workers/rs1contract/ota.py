"""The OTA contract between the cloud and devices, as pydantic models (one definition:
the Workers validate with them, firmware/rs1fw re-exports them for the device side).

In:  opticworks/{id}/ota/trigger — InstallOffer or CancelOrder (the offer endpoint answers
     with an InstallOffer too). Out: opticworks/{id}/ota/status — StatusReport.
"""

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rs1contract.manifest import MODEL_PATTERN, SHA256_PATTERN, SemVer

RolloutId = Annotated[str, Field(min_length=1, max_length=64)]


class OtaError(StrEnum):
    """The `error` strings of a failed report."""

    SIGNATURE_INVALID = "signature_invalid"
    SHA256_MISMATCH = "sha256_mismatch"
    SIZE_MISMATCH = "size_mismatch"
    DOWNGRADE_REFUSED = "downgrade_refused"
    ALREADY_INSTALLED = "already_installed"
    MODEL_MISMATCH = "model_mismatch"
    HEADER_MISMATCH = "header_mismatch"  # the image's own header names another model/version
    DOWNLOAD_FAILED = "download_failed"
    SELF_TEST_FAILED = "self_test_failed"
    SECURITY_DOWNGRADE = "security_downgrade"  # the offer's security_version is below ours


class Status(StrEnum):
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    DOWNLOADED = "downloaded"  # verified and waiting for its install window (install=window)
    INSTALLING = "installing"
    REBOOTING = "rebooting"
    SUCCESS = "success"
    FAILED = "failed"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_JITTER_S = 3600


class InstallWindow(_Message):
    """A daily maintenance window in the device's local time (its UTC offset, reported in
    `state` or set by the owner). `end` before `start` crosses midnight; equal: all day."""

    start: Annotated[str, Field(pattern=HHMM)]
    end: Annotated[str, Field(pattern=HHMM)]

    def minutes(self) -> tuple[int, int]:
        return _minutes(self.start), _minutes(self.end)

    def contains(self, local_minute: int) -> bool:
        """Is this minute of the local day (0..1439) inside the window?"""
        start, end = self.minutes()
        minute = local_minute % 1440
        if start == end:
            return True
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class InstallOffer(_Message):
    action: Literal["install"] = "install"  # the offer endpoint may leave it out
    rollout_id: RolloutId
    model: Annotated[str, Field(pattern=MODEL_PATTERN)]
    version: SemVer
    url: Annotated[str, Field(pattern=r"^https?://", max_length=4096)]
    sha256: Annotated[str, Field(pattern=SHA256_PATTERN)]
    signature: Annotated[str, Field(min_length=1, max_length=256)]
    size: Annotated[int, Field(ge=1)]
    # Rollout policy the device honours (all optional: an older offer means "now, at once").
    # Anti-rollback counter, separate from semver: a device never installs a lower one.
    security_version: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    jitter_s: Annotated[int, Field(ge=0, le=MAX_JITTER_S)] = 0  # wait random(0, jitter_s) first
    install: Literal["immediate", "window"] = "immediate"  # window: download now, install later
    window: InstallWindow | None = None  # install=window: when the device installs
    # The cloud's rollback after an aborted rollout: the one downgrade a device takes, and
    # only to the security version it runs.
    rollback: bool = False


class CancelOrder(_Message):
    action: Literal["cancel"]
    rollout_id: RolloutId


class StatusReport(_Message):
    """`version` is the rollout's target version (the one this report is about)."""

    rollout_id: str
    status: Status
    version: str
    progress: Annotated[int, Field(ge=0, le=100)] | None = None  # downloading only
    error: str | None = None  # failed only
    # OS randomness, not the seeded rng: a re-run with the same seed must not repeat ids
    # that the cloud has already de-duplicated.
    message_id: str = Field(default_factory=lambda: uuid.uuid4().hex)

    def payload(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)
