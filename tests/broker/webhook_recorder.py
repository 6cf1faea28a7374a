"""RecordingWebhookServer: a stand-in for the Workers' webhook endpoints in broker tests.

It records every request the broker makes (authn, authz, rule actions) and answers with
scripted replies, so a test can assert the exact JSON EMQX would send and exercise the
broker's reply handling (allow/deny/ignore, 204, 500, slow answers).
"""

import contextlib
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALLOW = {"result": "allow", "is_superuser": False}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


DEFAULT_REPLIES = {
    "/webhook/mqtt-auth": Reply(body=ALLOW),
    "/webhook/mqtt-acl": Reply(body={"result": "allow"}),
}


class RecordingWebhookServer:
    def __init__(self) -> None:
        self._scripts: dict[str, list[Reply]] = defaultdict(list)
        self._records: list[Recorded] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "RecordingWebhookServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def script(self, path: str, *replies: Reply) -> None:
        """Answer `path` with these replies in turn; the last one then repeats."""
        with self._changed:
            self._scripts[path] = list(replies)

    def requests(self, path: str | None = None) -> list[Recorded]:
        with self._changed:
            return [r for r in self._records if path is None or r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> list[Recorded]:
        """The first `count` requests to `path`; fails the test if they do not come in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := [r for r in self._records if r.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(found)}/{count} requests to {path} after {timeout}s"
                    )
                self._changed.wait(left)
            return found[:count]

    def _next_reply(self, path: str) -> Reply:
        with self._changed:
            script = self._scripts.get(path)
            if not script:
                return DEFAULT_REPLIES.get(path, Reply(body={"ok": True}))
            return script.pop(0) if len(script) > 1 else script[0]

    def _record(self, record: Recorded) -> None:
        with self._changed:
            self._records.append(record)
            self._changed.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the Workers behind Cloudflare
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows the assertions

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder._record(Recorded(self.command, path, headers, body, time.monotonic()))
                self._answer(recorder._next_reply(path))

            def _answer(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                with contextlib.suppress(ConnectionError):  # the broker gave up waiting
                    self._write(reply)

            def _write(self, reply: Reply) -> None:
                data = reply.body if isinstance(reply.body, bytes) else b""
                if reply.body is not None and not isinstance(reply.body, bytes):
                    data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                if reply.status != 204:
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(data)))
                self.end_headers()
                if reply.status != 204:
                    self.wfile.write(data)

        return Handler
