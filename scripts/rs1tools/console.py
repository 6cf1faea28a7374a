"""The web console locally: web/dist on its own origin (as Cloudflare Pages serves it at
app.optic.works), a config.json that points it at the local device API, and a dev sign-in
that registers a real session through the admin API (POST /admin/sessions), so the console's
calls are authenticated exactly as in production. Production has no dev sign-in: Cloudflare
Access signs users in, and build.mjs writes its config.json.
"""

import json
import re
import secrets
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from rs1.settings import WEB_ORIGIN
from rs1tools.localstack import ROOT, tool_env
from rs1tools.sessions import bootstrap_token

CONSOLE_PORT = 8790  # make dev / make demo (RS1_CONSOLE_PORT)
WEB = ROOT / "web"
DIST = WEB / "dist"
USER_ID = re.compile(r"[A-Za-z0-9._@-]{1,64}")
ROLES = ("user", "admin")
MAX_BODY = 4096


def build(quiet: bool = False) -> None:
    """Bundle web/ into web/dist (esbuild; its packages come from `npm ci --prefix web`)."""
    done = subprocess.run(["node", "build.mjs"], cwd=WEB, env=tool_env(), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"web build failed:\n{done.stdout}{done.stderr}")
    if not quiet:
        print(done.stdout.strip(), flush=True)


def web_origins(port: int, host: str = "127.0.0.1") -> str:
    """WEB_ORIGINS for Workers that a local console on `port` calls (production's stays)."""
    return f"{WEB_ORIGIN},http://{host}:{port}"


@contextmanager
def local_console(api_url: str, state_dir: Path, port: int) -> Iterator["ConsoleServer"]:
    """The console beside a local system: its dev sign-in holds an admin session of that
    system (written into its KV, as `rs1ctl token` does)."""

    def token() -> str:
        return bootstrap_token("console-dev-sign-in", "admin", 86_400, state_dir=state_dir)

    with ConsoleServer(api_url, token(), port, renew=token) as console:
        yield console


def csp(api_url: str) -> str:
    socket = re.sub(r"^http", "ws", api_url)
    return (
        f"default-src 'self'; connect-src 'self' {api_url} {socket}; img-src 'self' data:; "
        "style-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


class ConsoleServer:
    """Serves the console until stop(); `url` is its origin (a WEB_ORIGINS entry)."""

    def __init__(self, api_url: str, admin_token: str, port: int = 0, host: str = "127.0.0.1",
                 dist: Path = DIST, renew: Callable[[], str] | None = None) -> None:  # fmt: skip
        self.api_url = api_url.rstrip("/")
        self.admin_token = admin_token
        self.renew = renew  # a fresh admin token when the one held has ended
        self.dist = dist
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ConsoleServer":
        if not (self.dist / "index.html").exists():
            raise RuntimeError(f"{self.dist} holds no build: run `node web/build.mjs`")
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "ConsoleServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse(self, headers: Any) -> tuple[int, dict[str, Any]] | None:
        """Only the console's own page may sign in: a JSON body (which another site's form
        cannot send without a preflight this server never answers), addressed to this server
        by the name it is served as (no DNS-rebound host name)."""
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return 415, _error("unsupported_media_type", "Send the body as application/json.")
        port = self.server.server_address[1]
        if headers.get("host") not in {f"127.0.0.1:{port}", f"localhost:{port}"}:
            return 403, _error("forbidden_host", "Sign in on the console's own address.")
        return None

    def sign_in(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A session for `user` in `role`, registered by the admin API."""
        user, role = body.get("user"), body.get("role", "user")
        if not isinstance(user, str) or not USER_ID.fullmatch(user):
            return 400, _error("invalid_user", "The user id is 1-64 of A-Z a-z 0-9 . _ @ -.")
        if role not in ROLES:
            return 400, _error("invalid_role", "The role is user or admin.")
        ttl_s = body.get("ttl_s", 3600)
        if not isinstance(ttl_s, int) or not 60 <= ttl_s <= 86_400:
            return 400, _error("invalid_ttl", "ttl_s is 60..86400 seconds.")
        response = self._issue({"sub": user, "role": role, "ttl_s": ttl_s})
        if response.status_code == 401 and self.renew is not None:  # our admin session ended
            self.admin_token = self.renew()
            response = self._issue({"sub": user, "role": role, "ttl_s": ttl_s})
        return response.status_code, response.json()

    def _issue(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.api_url}/admin/sessions",
            json=body,
            headers={"authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )

    def _handler(self) -> type[SimpleHTTPRequestHandler]:
        console = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(console.dist), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the Workers' logs are the ones that matter

            def end_headers(self) -> None:
                self.send_header("content-security-policy", csp(console.api_url))
                self.send_header("x-content-type-options", "nosniff")
                self.send_header("referrer-policy", "no-referrer")
                if not self.path.startswith("/assets/"):
                    self.send_header("cache-control", "no-cache")
                super().end_headers()

            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/config.json":
                    return self._json(200, {"api": console.api_url, "auth": "dev"})
                return super().do_GET()

            def do_POST(self) -> None:
                if self.path != "/dev/sign-in":
                    return self._json(404, _error("not_found", "No such route."))
                refused = console.refuse(self.headers)
                if refused is not None:
                    return self._json(*refused)
                raw = self.headers.get("content-length") or "0"
                if not raw.isascii() or not raw.isdigit():
                    return self._json(400, _error("bad_length", "Content-Length is a byte count."))
                length = int(raw)
                if length > MAX_BODY:
                    return self._json(413, _error("payload_too_large", "The body is too big."))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._json(400, _error("invalid_json", "The body is not JSON."))
                if not isinstance(body, dict):
                    return self._json(400, _error("invalid_json", "The body is not an object."))
                self._json(*console.sign_in(body))

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(HTTPStatus(status))
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message, "request_id": secrets.token_hex(8)}
