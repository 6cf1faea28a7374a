"""What an event endpoint may be: an HTTPS URL (http only to localhost outside production),
no credentials in it, no private or loopback address in production, known event types."""

import ipaddress
import re
from urllib.parse import urlsplit

from rs1.errors import Unprocessable
from rs1.events.types import EVENT_TYPES

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
INVALID = "invalid_endpoint"
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")


def _refuse(message: str) -> Unprocessable:
    return Unprocessable(message, code=INVALID)


def _private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        # fetch (WHATWG URLs) reads a host whose last label is a number as IPv4 in any form
        # (2130706433, 0x7f.1, 127.1 are 127.0.0.1): refuse all but the dotted-decimal one.
        return host == "localhost" or host.endswith(".localhost") or _numeric(host)
    return not address.is_global


def _numeric(host: str) -> bool:
    return _NUMBER.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]) is not None


def check_url(url: str, production: bool) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [IPv6] bracket
        raise _refuse("The endpoint is not a URL.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise _refuse("The endpoint must be an https:// URL.")
    if parts.scheme == "http" and (production or host not in LOCAL_HOSTS):
        raise _refuse("The endpoint must be https:// (http only to localhost in development).")
    if parts.username or parts.password:
        raise _refuse("Put no credentials in the URL; verify RS1-Signature instead.")
    if production and _private(host):
        raise _refuse("The endpoint must be a public address.")
    return url


def check_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown or not types:
        raise _refuse(f"Unknown event types {unknown}; known: {list(EVENT_TYPES)}.")
    return sorted(set(types))
