"""A stand-in for the rs1-ota Worker, enough for the device's OTA client.

Serves one image at an HMAC-signed, expiring URL (403 JSON when expired or tampered),
honours `Range: bytes=N-` (206 + Content-Range, 416 past the end), and answers
GET /firmware/{model}/offer for an authenticated device (200 with a fresh URL, or 204).
Knobs simulate a flaky network and a cloud outage: error answers (503 or any status),
connections closed without an answer, an outage lasting a while (from the start or from a
connection cut mid-body), an offer endpoint that is down, a slow body.
"""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_SECRET = b"standin-url-secret"
_CHUNK = 4096


@dataclass
class Seen:
    path: str
    range: str | None
    status: int
    device_id: str | None = None
    password: str | None = None


@dataclass
class Release:
    """What the stand-in offers: the served bytes and the (signed) offer fields."""

    image: bytes
    rollout_id: str
    model: str
    version: str
    sha256: str
    signature: str
    size: int


@dataclass
class OtaWorkerStandIn:
    release: Release
    device_id: str
    password: str
    url_ttl_s: float = 60.0
    pending: bool = True  # False: the offer endpoint answers 204
    fail_next: int = 0  # answer this many firmware GETs with fail_status
    fail_status: int = 503
    reset_next: int = 0  # close this many firmware GETs' connections without an answer
    outage_until: float = 0.0  # time.monotonic(): firmware GETs get fail_status until then
    cut_after: int | None = None  # close the connection once after this many body bytes
    outage_after_cut_s: float | None = None  # the cut starts an outage this long
    fail_after_cut: int = 0  # the cut adds this many to fail_next
    reset_after_cut: int = 0  # and this many to reset_next
    offer_fail_next: int = 0  # answer this many offer requests with 503
    chunk_delay_s: float = 0.0
    policy: dict[str, object] = field(default_factory=dict)  # rollout policy in every offer
    seen: list[Seen] = field(default_factory=list)
    base: str = ""

    def signed_url(self, ttl_s: float | None = None) -> str:
        path = f"/firmware/{self.release.model}/{self.release.version}.bin"
        expires = int((time.time() + (self.url_ttl_s if ttl_s is None else ttl_s)) * 1000)
        sig = hmac.new(_SECRET, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{self.base}{path}?exp={expires}&sig={sig}"

    def install_message(self, ttl_s: float | None = None) -> dict[str, object]:
        r = self.release
        return {
            "action": "install",
            "rollout_id": r.rollout_id,
            "model": r.model,
            "version": r.version,
            "url": self.signed_url(ttl_s),
            "sha256": r.sha256,
            "signature": r.signature,
            "size": r.size,
            **self.policy,
        }

    def firmware_gets(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith(".bin")]

    def url_refusal(self, path: str, query: str) -> str | None:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        expires, sig = params.get("exp", ""), params.get("sig", "")
        want = hmac.new(_SECRET, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            return "invalid_signature"
        return "url_expired" if int(expires) < time.time() * 1000 else None


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        worker = self.server.worker
        parts = urlsplit(self.path)
        if parts.path == f"/firmware/{worker.release.model}/offer":
            if worker.offer_fail_next > 0:
                worker.offer_fail_next -= 1
                self._answer(503, {"error": "unavailable"})
                return
            self._offer(worker)
        elif parts.path.endswith(".bin"):
            self._firmware(worker, parts.path, parts.query)
        else:
            self._answer(404, {"error": "not_found"})

    def _record(self, status: int) -> None:
        self.server.worker.seen.append(
            Seen(
                urlsplit(self.path).path,
                self.headers.get("Range"),
                status,
                self.headers.get("X-Device-Id"),
                self.headers.get("X-Device-Password"),
            )
        )

    def _answer(self, status: int, body: dict[str, object] | None = None) -> None:
        self._record(status)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _offer(self, worker: OtaWorkerStandIn) -> None:
        device, password = self.headers.get("X-Device-Id"), self.headers.get("X-Device-Password")
        if (device, password) != (worker.device_id, worker.password):
            self._answer(401, {"error": "unauthorized"})
        elif not worker.pending:
            self._answer(204)
        else:
            self._answer(200, worker.install_message())

    def _firmware(self, worker: OtaWorkerStandIn, path: str, query: str) -> None:
        if refusal := worker.url_refusal(path, query):
            self._answer(403, {"error": refusal})
            return
        if worker.reset_next > 0:
            worker.reset_next -= 1
            self._record(0)  # no answer at all: the client sees the connection closed
            self.close_connection = True
            return
        if worker.fail_next > 0 or time.monotonic() < worker.outage_until:
            worker.fail_next = max(0, worker.fail_next - 1)
            self._answer(worker.fail_status, {"error": "unavailable"})
            return
        image = worker.release.image
        start = _range_start(self.headers.get("Range"))
        if start and start >= len(image):
            self._record(416)
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(image)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 206 if start else 200
        self._record(status)
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(image) - 1}/{len(image)}")
        self.send_header("Content-Length", str(len(image) - start))
        self.end_headers()
        self._body(worker, image[start:])

    def _body(self, worker: OtaWorkerStandIn, body: bytes) -> None:
        limit, worker.cut_after = worker.cut_after, None  # the cut happens once
        try:
            for offset in range(0, len(body), _CHUNK):
                if limit is not None and offset >= limit:
                    if worker.outage_after_cut_s is not None:
                        worker.outage_until = time.monotonic() + worker.outage_after_cut_s
                    worker.fail_next += worker.fail_after_cut
                    worker.reset_next += worker.reset_after_cut
                    self.close_connection = True
                    return  # Content-Length promised more: the client sees a cut body
                self.wfile.write(body[offset : offset + _CHUNK])
                self.wfile.flush()
                time.sleep(worker.chunk_delay_s)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the device hung up (cancel, power loss)


def _range_start(header: str | None) -> int:
    if header is None or not header.startswith("bytes=") or not header.endswith("-"):
        return 0
    return int(header.removeprefix("bytes=").removesuffix("-"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    worker: OtaWorkerStandIn


@contextmanager
def running(worker: OtaWorkerStandIn) -> Iterator[OtaWorkerStandIn]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.worker = worker
    worker.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield worker
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
