"""Streaming, resumable firmware download over a signed URL.

The partial image lives in Flash (the inactive OTA partition), which outlives a power loss
or a failed job: the next attempt resumes with `Range: bytes=N-`. A 403 on the signed URL
means it expired (or was tampered with): ask the offer endpoint for a fresh one.

Failures come in three kinds. The cloud's outage (R2 or the Worker down: 429, 5xx, 408,
refused or reset connections, timeouts, a body cut short) is waited out for up to
`outage_budget_s` since the last byte received, with capped backoff, and meanwhile a
`downloading` keep-alive report goes out every `keepalive_s`: a cloud outage is never
reported as the device's failure. A few odd answers (416, 425, a bad Content-Range, the offer
endpoint's 401) are retried `download_attempts` times. The rest is the device's or the
image's (any other 4xx, a size mismatch) and fails the job at once.
"""

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable

import httpx
from pydantic import ValidationError

from rs1fw.ota_messages import InstallOffer, OtaError
from rs1fw.ota_settings import OtaFaults, OtaSettings

log = logging.getLogger(__name__)

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_OUTAGE_STATUS = {408, 429, 500, 502, 503, 504}  # the cloud's: wait it out
_TRANSIENT_STATUS = {425}  # retried a bounded number of times

ProgressSink = Callable[[InstallOffer, int], Awaitable[None]]


class Flash:
    """The inactive partition: bytes of one image (by sha256), kept across power loss."""

    def __init__(self) -> None:
        self.sha256: str | None = None
        self.data = bytearray()

    def prepare(self, sha256: str) -> None:
        if self.sha256 != sha256:  # another image: what we hold is useless
            self.erase()
            self.sha256 = sha256

    def erase(self) -> None:
        self.sha256 = None
        self.data.clear()


class DownloadError(Exception):
    """The job gives up; `code` is the failed report's error."""

    def __init__(self, message: str, code: OtaError = OtaError.DOWNLOAD_FAILED) -> None:
        super().__init__(message)
        self.code = code


class NothingPending(Exception):
    """The offer endpoint answered 204: the cloud no longer wants this device updated."""


class Superseded(Exception):
    """The fresh offer is for another image or rollout: run that one instead."""

    def __init__(self, offer: InstallOffer) -> None:
        super().__init__(offer.rollout_id)
        self.offer = offer


class _Transient(Exception):
    pass


class _Outage(Exception):
    """The cloud is unavailable: wait (within the outage budget), then resume."""


class _UrlRefused(Exception):
    pass


class _PowerCut(Exception):
    pass


def backoff_delay(
    failures: int, settings: OtaSettings, rng: random.Random, cap_s: float | None = None
) -> float:
    """Exponential, capped (backoff_max_s unless `cap_s`), with jitter so a fleet does not
    retry in lockstep."""
    cap = settings.backoff_max_s if cap_s is None else cap_s
    ceiling = min(cap, settings.backoff_initial_s * 2 ** min(failures - 1, 62))
    return ceiling * (0.5 + rng.random() / 2)


def _declared_total(response: httpx.Response, offset: int) -> int | None:
    """The image size the server claims, from Content-Range (206) or Content-Length (200)."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", ""))
        if match is None or int(match.group(1)) != offset:
            raise _Transient(f"206 with an unexpected Content-Range for offset {offset}")
        return None if match.group(3) == "*" else int(match.group(3))
    length = response.headers.get("content-length")
    plain = "content-encoding" not in response.headers
    return int(length) if length and length.isdigit() and plain else None


class Downloader:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        ota_base: str,
        device_id: str,
        password: Callable[[], str],
        settings: OtaSettings,
        faults: OtaFaults,
        rng: random.Random,
        on_progress: ProgressSink,
        on_power_loss: Callable[[], Awaitable[None]],
        on_keepalive: ProgressSink | None = None,
    ) -> None:
        """`on_progress` reports progress (retried while offline); `on_keepalive`, the
        unchanged progress while an outage is waited out (default: on_progress)."""
        self._http = http
        self._ota_base = ota_base.rstrip("/")
        self._device_id = device_id
        self._password = password
        self._settings = settings
        self._power_loss_pending = faults.power_loss_mid_download  # once per device
        self._rng = rng
        self._on_progress = on_progress
        self._on_power_loss = on_power_loss
        self._on_keepalive = on_keepalive or on_progress
        self._next_mark = 0
        self._reported_at = 0.0  # loop time of the last downloading report

    async def download(self, offer: InstallOffer, flash: Flash) -> tuple[InstallOffer, bytes]:
        """The whole image, and the offer it came with (its url may have been refreshed)."""
        loop = asyncio.get_running_loop()
        settings = self._settings
        flash.prepare(offer.sha256)
        self._next_mark = 0
        await self._progress(offer, len(flash.data))
        failures = refreshes = outages = 0
        outage_since: float | None = None
        progressed_to = len(flash.data)
        stale = False
        while len(flash.data) < offer.size:
            try:
                if stale:
                    offer, stale = await self._fresh_offer(offer), False
                await self._fetch(offer, flash)
            except _PowerCut:
                await self._power_loss()
            except _UrlRefused as exc:
                refreshes += 1
                if refreshes > settings.offer_refreshes:
                    raise DownloadError("the signed url keeps being refused") from exc
                stale = True
            except _Transient as exc:
                failures += 1
                log.info("%s: download attempt %d failed: %s", self._device_id, failures, exc)
                if failures >= settings.download_attempts:
                    raise DownloadError(f"gave up after {failures} attempts: {exc}") from exc
                await asyncio.sleep(backoff_delay(failures, settings, self._rng))
            except _Outage as exc:
                if len(flash.data) > progressed_to:  # bytes came in before it broke off
                    progressed_to, outage_since, outages, refreshes = len(flash.data), None, 0, 0
                now = loop.time()
                outage_since = now if outage_since is None else outage_since
                outages += 1
                waited = now - outage_since
                log.info("%s: cloud unavailable (%.0f s): %s", self._device_id, waited, exc)
                if waited >= settings.outage_budget_s:
                    raise DownloadError(
                        f"the cloud was unavailable for {waited:.0f} s: {exc}"
                    ) from exc
                cap = settings.outage_backoff_max_s
                delay = backoff_delay(outages, settings, self._rng, cap_s=cap)
                await self._wait_out(
                    offer, len(flash.data), min(delay, settings.outage_budget_s - waited)
                )
                continue
            if len(flash.data) > progressed_to:
                progressed_to, outage_since, outages, refreshes = len(flash.data), None, 0, 0
        return offer, bytes(flash.data)

    async def _wait_out(self, offer: InstallOffer, received: int, delay: float) -> None:
        """Sleep `delay` seconds; a keep-alive report whenever the last one is keepalive_s old."""
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while (now := loop.time()) < end:
            due = self._reported_at + self._settings.keepalive_s
            if due <= now:
                self._reported_at = now
                await self._on_keepalive(offer, min(100, received * 100 // offer.size))
                continue
            await asyncio.sleep(min(end, due) - now)

    async def _progress(self, offer: InstallOffer, received: int) -> None:
        percent = min(100, received * 100 // offer.size)
        if percent >= self._next_mark:
            self._next_mark = (percent // 25 + 1) * 25
            self._reported_at = asyncio.get_running_loop().time()
            await self._on_progress(offer, percent)

    async def _power_loss(self) -> None:
        self._power_loss_pending = False
        log.info("%s: power lost mid-download", self._device_id)
        await self._on_power_loss()
        await asyncio.sleep(self._settings.power_loss_dark_s)

    async def _fetch(self, offer: InstallOffer, flash: Flash) -> None:
        offset = len(flash.data)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        timeout = self._settings.request_timeout_s
        try:
            async with self._http.stream("GET", offer.url, headers=headers, timeout=timeout) as r:
                self._accept(r, offer, flash, offset)
                async for chunk in r.aiter_bytes(self._settings.chunk_size):
                    await self._write(offer, flash, chunk)
        except httpx.TransportError as exc:  # refused, resets, timeouts, a body cut short
            raise _Outage(f"{type(exc).__name__}: {exc}") from exc
        if len(flash.data) < offer.size:
            raise _Outage(f"the body ended at {len(flash.data)} of {offer.size} bytes")

    def _accept(
        self, response: httpx.Response, offer: InstallOffer, flash: Flash, offset: int
    ) -> None:
        status = response.status_code
        if status == 403:
            raise _UrlRefused()
        if status == 416:  # the server's image is not the size we think: start over
            flash.data.clear()
            raise _Transient("416 range not satisfiable")
        if status in _OUTAGE_STATUS:
            raise _Outage(f"http {status}")
        if status in _TRANSIENT_STATUS:
            raise _Transient(f"http {status}")
        if status not in (200, 206):  # the image or the device is wrong: no retry helps
            raise DownloadError(f"the firmware url answered http {status}")
        total = _declared_total(response, offset)
        if total is not None and total != offer.size:
            raise DownloadError(f"server image is {total} bytes", OtaError.SIZE_MISMATCH)
        if status == 200:  # no range support (or a fresh start): begin again at byte 0
            flash.data.clear()

    async def _write(self, offer: InstallOffer, flash: Flash, chunk: bytes) -> None:
        if len(flash.data) + len(chunk) > offer.size:
            flash.erase()
            raise DownloadError("the image is larger than offered", OtaError.SIZE_MISMATCH)
        flash.data += chunk
        await self._progress(offer, len(flash.data))
        if self._power_loss_pending and len(flash.data) >= offer.size // 2:
            raise _PowerCut()

    async def _fresh_offer(self, offer: InstallOffer) -> InstallOffer:
        url = f"{self._ota_base}/firmware/{offer.model}/offer"
        headers = {"X-Device-Id": self._device_id, "X-Device-Password": self._password()}
        try:
            response = await self._http.get(
                url, headers=headers, timeout=self._settings.request_timeout_s
            )
        except httpx.TransportError as exc:
            raise _Outage(f"offer: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 204:
            raise NothingPending()
        if response.status_code in _OUTAGE_STATUS:
            raise _Outage(f"offer: http {response.status_code}")
        # 401: the hourly password may have just rolled over; ask again with a fresh one.
        if response.status_code in _TRANSIENT_STATUS or response.status_code == 401:
            raise _Transient(f"offer: http {response.status_code}")
        if response.status_code != 200:
            raise DownloadError(f"the offer endpoint answered http {response.status_code}")
        return self._check_offer(offer, response)

    def _check_offer(self, offer: InstallOffer, response: httpx.Response) -> InstallOffer:
        try:
            fresh = InstallOffer.model_validate_json(response.content)
        except ValidationError as exc:
            raise DownloadError("the offer endpoint answered an invalid offer") from exc
        if (fresh.rollout_id, fresh.sha256) != (offer.rollout_id, offer.sha256):
            raise Superseded(fresh)
        return fresh
