import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from rs1.identity.keys import (
    derive_device_secret,
    hour_of,
    mqtt_password,
    verify_mqtt_password,
)

device_ids = st.text("0123456789abcdef", min_size=32, max_size=32)
secrets_ = st.text("0123456789abcdef", min_size=64, max_size=64)
times = st.floats(min_value=3600, max_value=4e9, allow_nan=False)


def test_password_matches_the_spec_formula() -> None:
    secret, device = "0123456789abcdef", "4bf2a7ea9d60a57d2b7c8a41a4ea0eab"
    expected = hmac.new(secret.encode(), f"{device}:491000".encode(), hashlib.sha256).hexdigest()
    assert mqtt_password(secret, device, 491000) == expected
    assert expected == "b7b0ec2eb9a43a0cf5c91e20b5cd1f4ba993c54ffdb06187aae0cd94570ea081"


@given(secrets_, device_ids, times)
def test_current_and_previous_hour_are_accepted(secret: str, device: str, now: float) -> None:
    hour = hour_of(now)
    assert verify_mqtt_password(secret, device, mqtt_password(secret, device, hour), now)
    assert verify_mqtt_password(secret, device, mqtt_password(secret, device, hour - 1), now)


@given(secrets_, device_ids, times, st.integers(min_value=2, max_value=10_000))
def test_older_or_future_hours_are_refused(secret: str, device: str, now: float, age: int) -> None:
    hour = hour_of(now)
    assert not verify_mqtt_password(secret, device, mqtt_password(secret, device, hour - age), now)
    assert not verify_mqtt_password(secret, device, mqtt_password(secret, device, hour + 1), now)


@given(secrets_, secrets_, device_ids, times)
def test_another_secret_never_verifies(a: str, b: str, device: str, now: float) -> None:
    if a != b:
        assert not verify_mqtt_password(b, device, mqtt_password(a, device, hour_of(now)), now)


@given(device_ids, st.integers(min_value=1, max_value=1000))
def test_derived_secrets_differ_by_device_generation_and_master(device: str, gen: int) -> None:
    base = derive_device_secret("master-1", device, gen)
    assert len(base) == 64
    assert base == derive_device_secret("master-1", device, gen)  # deterministic
    assert base != derive_device_secret("master-1", device, gen + 1)  # rotation changes it
    assert base != derive_device_secret("master-2", device, gen)
