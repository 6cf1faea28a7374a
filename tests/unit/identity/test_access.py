import time

import access_idp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rs1.identity.access import verify_access_token
from rs1.identity.tokens import InvalidToken

KEY = access_idp.new_key()
JWKS = access_idp.jwks(KEY)


def verify(token: str, now: float | None = None):
    now = time.time() if now is None else now
    return verify_access_token(token, JWKS, access_idp.AUDIENCE, access_idp.ISSUER, now)


def test_a_valid_token_names_the_user_by_email() -> None:
    claims = verify(access_idp.access_token(KEY, "Grace@Example.com"))
    assert (claims.sub, claims.role) == ("grace@example.com", "user")
    assert claims.jti.startswith("access:") and len(claims.jti) == len("access:") + 32


def test_expiry_follows_the_injected_clock() -> None:
    token = access_idp.access_token(KEY, "a@b.c")
    exp = verify(token).exp
    with pytest.raises(InvalidToken):
        verify(token, now=exp)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=340), st.integers(min_value=1, max_value=63))
def test_any_altered_signature_character_is_refused(position: int, flip: int) -> None:
    # 342 base64url characters carry the 2048-bit signature; the last one's 4 spare bits
    # decode to the same bytes, so it is left out (non-canonical base64, not a forgery).
    token = access_idp.access_token(KEY, "a@b.c")
    header, payload, signature = token.split(".")
    raw = bytearray(signature.encode())
    i = position
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    raw[i] = ord(alphabet[(alphabet.index(chr(raw[i])) + flip) % 64])
    with pytest.raises(InvalidToken):
        verify(f"{header}.{payload}.{raw.decode()}")
