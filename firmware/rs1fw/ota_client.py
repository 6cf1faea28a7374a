"""The device side of OTA, as the RS-1 firmware does it, minus MQTT.

One OtaClient per simulated device. The fleet hands it every parsed ota/trigger message
(`await client.handle(msg)`, each in its own task) and injects the device's side effects:
publishing on ota/status, rebooting into a firmware version, the hourly MQTT password.

Flow for an install: refuse a downgrade/reinstall or a lower security version up front →
wait the offer's jitter → download (resumable) → verify size, sha256, ECDSA signature and the
image header → (install=window: report `downloaded`, wait for the local maintenance window) →
install → reboot into the new version → self-test → success, or roll back (reboot into the
old version) and report failed. A semver downgrade is taken only as the cloud's rollback: an
offer with the same security version as the installed image.
An outage of the cloud during the download is waited out (rs1fw.ota_download), with
`downloading` keep-alive reports, and is reported failed only past outage_budget_s.
"""

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import httpx
from pydantic import ValidationError
from typing_extensions import TypeIs

from rs1fw.images import ImageFormatError, parse_header
from rs1fw.ota_download import (
    Downloader,
    DownloadError,
    Flash,
    NothingPending,
    Superseded,
    backoff_delay,
)
from rs1fw.ota_messages import (
    CancelOrder,
    InstallOffer,
    InstallWindow,
    OtaError,
    Status,
    StatusReport,
)
from rs1fw.ota_settings import OtaFaults, OtaSettings
from rs1fw.signing import Pem, VerificationError, check_image
from rs1fw.versions import parse_version

log = logging.getLogger(__name__)

# Each callable may be sync or async. publish_status returning False means "not sent"
# (offline, e.g. mid-reboot): the report is retried with backoff.
PublishStatus = Callable[[dict[str, object]], Awaitable[bool | None] | bool | None]
Reboot = Callable[[str], Awaitable[None] | None]
Hook = Callable[[], Awaitable[None] | None]
Installed = Callable[[str], Awaitable[None] | None]
LocalMinute = Callable[[], int]  # minute of the device's local day, 0..1439

WINDOW_POLL_S = 5.0  # how often (at most) a device waiting for its window looks at its clock
MIN_POLL_S = 0.001  # a very fast simulated clock still never busy-waits
CANCEL_POLL_S = 0.2  # how often a wait (jitter, window) looks for a cancel order


def utc_minute(clock: Callable[[], float] = time.time, utc_offset_min: int = 0) -> LocalMinute:
    """The local minute of a clock at a fixed UTC offset."""
    return lambda: int(clock() // 60 + utc_offset_min) % 1440


def window_poll_s(window: InstallWindow, local_minute: int, clock_speed: float = 1.0) -> float:
    """Real seconds until a device outside `window` looks at its clock again: at most
    WINDOW_POLL_S, sooner when the window opens sooner on a (possibly sped-up) clock. The
    minute is whole, so it sleeps to the minute before the start, then polls each quarter
    of a device minute: even a one-minute window is never stepped over."""
    start, _ = window.minutes()
    minutes_to_start = (start - local_minute) % 1440
    device_s = max((minutes_to_start - 1) * 60.0, 15.0)
    return max(MIN_POLL_S, min(WINDOW_POLL_S, device_s / clock_speed))


_MAX_SUPERSEDES = 3  # fresh offers naming another image, followed per trigger

T = TypeVar("T")


def _is_awaitable(value: Awaitable[T] | T) -> TypeIs[Awaitable[T]]:
    # inspect.isawaitable is a TypeGuard: it would not narrow the other branch to T.
    return inspect.isawaitable(value)


async def _resolve(value: Awaitable[T] | T) -> T:
    return await value if _is_awaitable(value) else value


class OtaClient:
    def __init__(
        self,
        *,
        device_id: str,
        installed_version: str,
        public_key_pem: Pem,
        ota_base: str,
        http: httpx.AsyncClient,
        publish_status: PublishStatus,
        reboot: Reboot,
        password: Callable[[], str],
        faults: OtaFaults | None = None,
        rng: random.Random | None = None,
        settings: OtaSettings | None = None,
        model: str | None = None,
        on_power_loss: Hook | None = None,
        on_bricked: Hook | None = None,
        security_version: int = 0,
        local_minute: LocalMinute | None = None,
        on_installed: Installed | None = None,
        clock_speed: float = 1.0,
    ) -> None:
        """`reboot(v)` should return once the device is booting v (publishing may still be
        offline for a moment); `on_power_loss` drops the connection mid-download (the
        client then waits power_loss_dark_s and resumes); `on_bricked` must silence the
        device for good. `model`, when given, refuses offers for other models.
        `security_version` is the installed image's anti-rollback counter; `local_minute`
        the device's local clock for maintenance windows (default: UTC); `on_installed(v)`
        runs once a new version passed its self-test (the simulation's post-install
        behaviour hooks in there, reading `post_install_faults`); `clock_speed` is device
        seconds per real second of `local_minute`'s clock (a sped-up simulation), so the wait
        for a window polls often enough to catch it."""
        if clock_speed <= 0:
            raise ValueError("clock_speed must be positive")
        self.device_id = device_id
        self._installed = str(parse_version(installed_version))
        self._public_key = public_key_pem
        self._publish = publish_status
        self._reboot = reboot
        self._faults = faults or OtaFaults()
        self._settings = settings or OtaSettings()
        self._rng = rng or random.Random()  # noqa: S311 — simulation, not security
        # Retries draw jitter from their own stream, so network luck never shifts the
        # seeded self-test outcomes.
        self._jitter = random.Random(self._rng.getrandbits(64))  # noqa: S311
        self._model = model
        self._on_bricked = on_bricked
        self._on_installed = on_installed
        self.security_version = security_version
        self._local_minute = local_minute or utc_minute()
        self._clock_speed = clock_speed
        self.jitter_waits: dict[str, float] = {}  # rollout id → the delay it drew
        self._flash = Flash()
        self._lock = asyncio.Lock()
        self._queued: set[str] = set()
        self._cancelled: set[str] = set()
        self._download_task: asyncio.Task[tuple[InstallOffer, bytes]] | None = None
        self._active: str | None = None
        self.bricked = False
        self._downloader = Downloader(
            http=http,
            ota_base=ota_base,
            device_id=device_id,
            password=password,
            settings=self._settings,
            faults=self._faults,
            rng=self._jitter,
            on_progress=self._report_progress,
            on_keepalive=self._report_keepalive,
            on_power_loss=lambda: _resolve(on_power_loss() if on_power_loss else None),
        )

    @property
    def installed_version(self) -> str:
        return self._installed

    @property
    def faults(self) -> OtaFaults:
        return self._faults

    @property
    def post_install_faults(self) -> tuple[str, ...]:
        """What the installed firmware does wrong after its update (OtaFaults: reboot_loop,
        radar_silent, telemetry_silent); the device's on_installed hook acts it out."""
        return self._faults.post_install()

    async def handle(self, message: Mapping[str, object]) -> None:
        """Act on one ota/trigger message; returns when that job has ended."""
        if self.bricked:
            return
        action = message.get("action")
        if action == "cancel":
            self._cancel(message)
        elif action == "install":
            await self._install(message)
        else:
            log.warning("%s: ignoring ota trigger with action %r", self.device_id, action)

    def _cancel(self, message: Mapping[str, object]) -> None:
        try:
            rollout_id = CancelOrder.model_validate(message).rollout_id
        except ValidationError:
            log.warning("%s: ignoring malformed cancel", self.device_id)
            return
        if rollout_id not in self._queued:
            return  # unknown, finished, or already installing: nothing to stop
        self._cancelled.add(rollout_id)
        if self._active == rollout_id and self._download_task is not None:
            self._download_task.cancel()

    async def _install(self, message: Mapping[str, object]) -> None:
        try:
            offer = InstallOffer.model_validate(message)
        except ValidationError:
            log.warning("%s: ignoring malformed install trigger", self.device_id)
            return
        if offer.rollout_id in self._queued:
            return  # a QoS 1 redelivery of a job already queued or running
        self._queued.add(offer.rollout_id)
        try:
            async with self._lock:  # one job at a time, in arrival order
                if not self.bricked and offer.rollout_id not in self._cancelled:
                    await self._run(offer)
        finally:
            self._queued.discard(offer.rollout_id)
            self._cancelled.discard(offer.rollout_id)

    async def _run(self, offer: InstallOffer) -> None:
        try:
            for attempt in range(_MAX_SUPERSEDES + 1):
                self._active = offer.rollout_id
                try:
                    # The jitter spreads the job's first request; a superseding offer
                    # mid-download is followed at once.
                    await self._attempt(offer, jitter=attempt == 0)
                    return
                except Superseded as exc:
                    log.info("%s: superseded by %s", self.device_id, exc.offer.rollout_id)
                    offer = exc.offer
            await self._fail(offer, OtaError.DOWNLOAD_FAILED)
        finally:
            self._active = None

    async def _attempt(self, offer: InstallOffer, *, jitter: bool = True) -> None:
        if refusal := self._refusal(offer):
            await self._fail(offer, refusal)
            return
        if jitter and not await self._jitter_wait(offer):
            return
        downloaded = await self._download(offer)
        if downloaded is None:
            return
        offer, image = downloaded
        await self._report(offer, Status.VERIFYING)
        if error := self._verify(image, offer):
            self._flash.erase()  # never resume into a bad image
            await self._fail(offer, error)
            return
        if offer.install == "window" and not await self._window_wait(offer):
            return
        if offer.rollout_id in self._cancelled:
            return  # the last moment a cancel counts: installing cannot be stopped
        await self._install_and_reboot(offer)

    async def _wait(self, rollout_id: str, seconds: float) -> bool:
        """Sleep, waking for a cancel order; False when cancelled."""
        deadline = asyncio.get_running_loop().time() + seconds
        while rollout_id not in self._cancelled:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, CANCEL_POLL_S))
        return False

    async def _jitter_wait(self, offer: InstallOffer) -> bool:
        """Thundering herds: wait a random 0..jitter_s before the first request."""
        if not offer.jitter_s:
            return True
        delay = self._jitter.uniform(0, offer.jitter_s)
        self.jitter_waits[offer.rollout_id] = delay
        return await self._wait(offer.rollout_id, delay)

    async def _window_wait(self, offer: InstallOffer) -> bool:
        """install=window: say `downloaded`, then wait for the local maintenance window."""
        await self._report(offer, Status.DOWNLOADED)
        window = offer.window
        while window is not None and not window.contains(minute := self._local_minute()):
            poll = window_poll_s(window, minute, self._clock_speed)
            if not await self._wait(offer.rollout_id, poll):
                log.info("%s: rollout %s cancelled while waiting", self.device_id,
                         offer.rollout_id)  # fmt: skip
                return False
        return True

    def _refusal(self, offer: InstallOffer) -> OtaError | None:
        if self._model is not None and offer.model != self._model:
            return OtaError.MODEL_MISMATCH
        offered, installed = parse_version(offer.version), parse_version(self._installed)
        if offered == installed:
            return OtaError.ALREADY_INSTALLED
        if offer.security_version < self.security_version:
            return OtaError.SECURITY_DOWNGRADE  # never, not even as a rollback
        rollback = offer.rollback and offer.security_version == self.security_version
        return OtaError.DOWNGRADE_REFUSED if offered < installed and not rollback else None

    async def _download(self, offer: InstallOffer) -> tuple[InstallOffer, bytes] | None:
        """The image, or None when the job ends here (cancelled, withdrawn, given up)."""
        task = asyncio.create_task(self._downloader.download(offer, self._flash))
        self._download_task = task
        try:
            return await task
        except asyncio.CancelledError:
            if (current := asyncio.current_task()) and current.cancelling():
                raise  # we are being cancelled ourselves, not by a cancel order
            log.info("%s: rollout %s cancelled", self.device_id, offer.rollout_id)
        except NothingPending:
            log.info("%s: no offer pending any more; stopping", self.device_id)
        except DownloadError as exc:
            log.warning("%s: download failed: %s", self.device_id, exc)
            await self._fail(offer, exc.code)
        finally:
            self._download_task = None
        return None

    def _verify(self, image: bytes, offer: InstallOffer) -> OtaError | None:
        try:
            check_image(image, offer.size, offer.sha256, offer.signature, self._public_key)
        except VerificationError as exc:
            return OtaError(exc.code)
        if self._settings.check_header:
            # The signature covers the bytes, not the offer's labels: an old signed image
            # offered as a newer version must not pass.
            try:
                found = parse_header(image)
            except ImageFormatError:
                return OtaError.HEADER_MISMATCH
            if found != (offer.model, offer.version):
                return OtaError.HEADER_MISMATCH
        return None

    async def _install_and_reboot(self, offer: InstallOffer) -> None:
        await self._report(offer, Status.INSTALLING)
        if self._faults.bricked:
            self.bricked = True
            log.info("%s: bricked while installing %s", self.device_id, offer.version)
            if self._on_bricked is not None:
                await _resolve(self._on_bricked())
            return
        await asyncio.sleep(self._settings.install_s)
        self._flash.erase()
        await self._report(offer, Status.REBOOTING)
        previous = self._installed
        await self._boot(offer.version)
        await asyncio.sleep(self._settings.self_test_s)
        if self._rng.random() < self._faults.install_failure_probability:
            await self._boot(previous)  # the bootloader's rollback to the old partition
            await self._fail(offer, OtaError.SELF_TEST_FAILED)
        else:
            self.security_version = offer.security_version
            await self._report(offer, Status.SUCCESS)
            if self._on_installed is not None:
                await _resolve(self._on_installed(offer.version))

    async def _boot(self, version: str) -> None:
        self._installed = version
        await _resolve(self._reboot(version))

    async def _report_progress(self, offer: InstallOffer, percent: int) -> None:
        await self._report(offer, Status.DOWNLOADING, progress=percent)

    async def _report_keepalive(self, offer: InstallOffer, percent: int) -> None:
        """Still downloading, waiting out the cloud's outage: one try (the next one follows
        keepalive_s later), so an offline device never stalls its download on a report."""
        await self._report(offer, Status.DOWNLOADING, progress=percent, attempts=1)

    async def _fail(self, offer: InstallOffer, error: OtaError) -> None:
        await self._report(offer, Status.FAILED, error=error.value)

    async def _report(
        self,
        offer: InstallOffer,
        status: Status,
        *,
        progress: int | None = None,
        error: str | None = None,
        attempts: int | None = None,
    ) -> None:
        report = StatusReport(
            rollout_id=offer.rollout_id,
            status=status,
            version=offer.version,
            progress=progress,
            error=error,
        ).payload()
        tries = attempts or self._settings.publish_attempts
        for attempt in range(1, tries + 1):
            if await _resolve(self._publish(report)) is not False:
                return
            if attempt < tries:
                await asyncio.sleep(backoff_delay(attempt, self._settings, self._jitter))
        log.warning("%s: gave up publishing %s", self.device_id, status.value)
