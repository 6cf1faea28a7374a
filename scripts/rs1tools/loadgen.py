"""A bounded HTTP/1.1 keep-alive load generator for 127.0.0.1 benchmarks.

Written small on purpose (no wrk on a fresh machine; httpx's per-request overhead would
dominate what it measures). Each of `concurrency` connections sends requests back to back
until `duration` seconds pass; latencies are measured per request.
"""

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

RequestFactory = Callable[[int], tuple[str, str, dict[str, str], bytes]]


@dataclass
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, float | int | str]:
        return {
            "name": self.name,
            "requests": self.requests,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct(0.50), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else 0,
        }


def encode(host: str, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _worker(url: str, make: RequestFactory, deadline: float, out: LoadResult, n: int) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    i = n
    try:
        while time.perf_counter() < deadline:
            method, path, headers, body = make(i)
            i += 1_000_003
            started = time.perf_counter()
            writer.write(encode(parts.netloc, method, path, headers, body))
            status = await read_response(reader)
            out.latencies_ms.append((time.perf_counter() - started) * 1000)
            out.requests += 1
            out.errors += status >= 400
    finally:
        writer.close()


async def run_load(
    name: str, url: str, make: RequestFactory, concurrency: int = 16, duration: float = 5.0
) -> LoadResult:
    result = LoadResult(name, 0, 0, 0.0, [])
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(_worker(url, make, deadline, result, n) for n in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def json_request(method: str, path: str, body: object, headers: dict[str, str] | None = None):
    payload = json.dumps(body).encode()
    return method, path, {"content-type": "application/json", **(headers or {})}, payload
