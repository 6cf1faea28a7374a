"""Knobs for the simulated OTA client: per-device faults and timings."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OtaFaults:
    power_loss_mid_download: bool = False  # lose power once halfway, stay dark, resume (Range)
    install_failure_probability: float = 0.0  # the post-reboot self-test fails this often
    bricked: bool = False  # dies after reporting "installing": silent forever
    # Post-install behaviour: the new firmware passes its self-test, reports success, and
    # then misbehaves. The client only records them (OtaClient.post_install_faults); the
    # device it runs on (the simulated fleet, via on_installed) acts them out.
    reboot_loop: bool = False  # keeps restarting: reboot_loop_count times, every_s apart
    reboot_loop_every_s: float = 8.0  # seconds after each boot (each reboot resets uptime)
    reboot_loop_count: int = 4
    radar_silent: bool = False  # health says radar_ok=false; no targets/presence telemetry
    telemetry_silent: bool = False  # no telemetry at all; state and MQTT stay up

    def __post_init__(self) -> None:
        if not 0 <= self.install_failure_probability <= 1:
            raise ValueError("install_failure_probability must be within 0..1")
        if self.reboot_loop_every_s <= 0 or self.reboot_loop_count < 1:
            raise ValueError("reboot_loop_every_s must be positive, reboot_loop_count >= 1")

    def post_install(self) -> tuple[str, ...]:
        """The names of the post-install faults switched on."""
        names = ("reboot_loop", "radar_silent", "telemetry_silent")
        return tuple(name for name in names if getattr(self, name))


@dataclass(frozen=True)
class OtaSettings:
    chunk_size: int = 16 * 1024  # bytes per streamed read (an ESP32 OTA write buffer)
    request_timeout_s: float = 15.0
    # Failures that are neither the cloud's outage nor the image's (416, 425, a bad
    # Content-Range, the offer endpoint's 401 around an hour's password turn), per job.
    download_attempts: int = 6
    offer_refreshes: int = 3  # 403 → fresh offer, at most this many times between progress
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0  # bounded retries and status publishes
    # The cloud's outage (429, 500, 502, 503, 504, 408, refused/reset connections, timeouts,
    # bodies cut short; on the firmware URL and the offer endpoint) never fails the job while
    # it lasts under this long, counted from the last byte received: "R2 unavailable, devices
    # retry OTA later". The partial image stays in Flash; the retry resumes with Range.
    outage_budget_s: float = 1800.0
    outage_backoff_max_s: float = 30.0  # retries in an outage: capped exponential, jittered
    # While waiting out an outage, a `downloading` report with the unchanged progress goes out
    # at most this often, so the rollout's per-device timeout (5 min from the last report)
    # does not count a waiting device as timed_out.
    keepalive_s: float = 60.0
    publish_attempts: int = 8  # a report while offline (e.g. rebooting) is retried
    power_loss_dark_s: float = 2.0
    install_s: float = 1.0  # writing the image to the inactive partition
    self_test_s: float = 0.5
    check_header: bool = True  # the image's RS1FW header must name the offered model/version

    def __post_init__(self) -> None:
        if self.outage_budget_s < 0 or self.keepalive_s <= 0 or self.outage_backoff_max_s <= 0:
            raise ValueError("outage budget must be >= 0, keepalive and backoff cap positive")
