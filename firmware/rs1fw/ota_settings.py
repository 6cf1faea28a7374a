"""Knobs for the simulated OTA client: per-device faults and timings."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OtaFaults:
    power_loss_mid_download: bool = False  # lose power once halfway, stay dark, resume (Range)
    install_failure_probability: float = 0.0  # the post-reboot self-test fails this often
    bricked: bool = False  # dies after reporting "installing": silent forever

    def __post_init__(self) -> None:
        if not 0 <= self.install_failure_probability <= 1:
            raise ValueError("install_failure_probability must be within 0..1")


@dataclass(frozen=True)
class OtaSettings:
    chunk_size: int = 16 * 1024  # bytes per streamed read (an ESP32 OTA write buffer)
    request_timeout_s: float = 15.0
    download_attempts: int = 6  # transient failures (5xx, resets, short reads) per job
    offer_refreshes: int = 3  # 403 → fresh offer, at most this many times per job
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    publish_attempts: int = 8  # a report while offline (e.g. rebooting) is retried
    power_loss_dark_s: float = 2.0
    install_s: float = 1.0  # writing the image to the inactive partition
    self_test_s: float = 0.5
    check_header: bool = True  # the image's RS1FW header must name the offered model/version
