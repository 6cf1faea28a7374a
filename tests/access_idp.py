"""A local stand-in for a Cloudflare Access team (named so: tests only).

An RSA key made for the session, its JWKS served over HTTP on 127.0.0.1 (as Access serves
`/cdn-cgi/access/certs`), and tokens signed like Access's, by PyJWT (an independent JOSE
library from the python-jose the Workers verify with).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

AUDIENCE = "rs1-test-access-aud-0123456789abcdef"
ISSUER = "https://rs1-test.cloudflareaccess.com"
KID = "rs1-test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(key: rsa.RSAPrivateKey, kid: str = KID) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}


def access_token(key: rsa.RSAPrivateKey, email: str | None, **overrides: object) -> str:
    now = int(time.time())
    claims = {"aud": [AUDIENCE], "iss": ISSUER, "sub": "a1b2c3", "iat": now, "nbf": now,
              "exp": now + 600, "type": "app", "email": email, **overrides}  # fmt: skip
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


class JwksServer:
    """Serves one JWKS at http://127.0.0.1:<port>/cdn-cgi/access/certs in a thread."""

    def __init__(self, keys: dict) -> None:
        body = json.dumps(keys).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/cdn-cgi/access/certs" else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/cdn-cgi/access/certs"

    def close(self) -> None:
        self.server.shutdown()
