import jwt
import pytest

from rs1.identity.tokens import InvalidToken, mint_token, verify_token

NOW = 1_795_000_000
SECRET = "a-test-jwt-secret-of-32-bytes-ok!"


def test_round_trip() -> None:
    token = mint_token(SECRET, "ops@optic.works", "admin", NOW, ttl_s=60)
    claims = verify_token(SECRET, token, NOW + 30)
    assert (claims.sub, claims.role) == ("ops@optic.works", "admin")
    assert len(claims.jti) == 32


def test_expired_wrong_key_and_garbage_are_refused() -> None:
    token = mint_token(SECRET, "ops", "admin", NOW, ttl_s=60)
    for secret, candidate, now in (
        (SECRET, token, NOW + 61),
        ("another-secret-of-32-bytes-length!", token, NOW),
        (SECRET, "not.a.jwt", NOW),
        ("", token, NOW),
    ):
        with pytest.raises(InvalidToken):
            verify_token(secret, candidate, now)


def test_unsigned_and_other_algorithms_are_refused() -> None:
    payload = {"sub": "ops", "role": "admin", "exp": NOW + 60, "jti": "j"}
    unsigned = jwt.encode(payload, key=None, algorithm="none")
    hs512 = jwt.encode(payload, SECRET, algorithm="HS512")
    for token in (unsigned, hs512):
        with pytest.raises(InvalidToken):
            verify_token(SECRET, token, NOW)


def test_unknown_role_is_refused() -> None:
    token = jwt.encode(
        {"sub": "x", "role": "root", "exp": NOW + 60, "jti": "j"}, SECRET, algorithm="HS256"
    )
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token, NOW)


def test_a_token_without_jti_is_refused() -> None:
    token = jwt.encode({"sub": "x", "role": "user", "exp": NOW + 60}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token, NOW)
