"""Fleet identities: MACs, secrets files, hourly passwords, the simulation clock."""

from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import NOW
from rs1.identity.device_id import device_id_from_mac, normalize_mac
from rs1.identity.keys import hour_of, mqtt_password, verify_mqtt_password
from rs1tools.fleet.clock import SimClock
from rs1tools.fleet.device import SimDevice
from rs1tools.fleet.faults import Fault
from rs1tools.fleet.identity import (
    DeviceIdentity,
    FleetStartError,
    fleet_macs,
    read_secrets,
    write_secrets,
)


def test_fleet_macs_are_unique_valid_and_seeded() -> None:
    macs = fleet_macs(5000, seed=3)
    assert len(set(macs)) == 5000
    assert all(normalize_mac(m) == m for m in macs)
    assert fleet_macs(10, seed=3) == macs[:10]
    assert fleet_macs(10, seed=4) != macs[:10]


def test_secrets_round_trip(tmp_path: Path, identities: Callable[..., list]) -> None:
    made = identities(3)
    path = tmp_path / "secrets.csv"
    write_secrets(path, made)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().splitlines()[0] == "mac_address,device_id,device_secret,key_generation"
    assert read_secrets(path) == made


def test_secrets_with_a_foreign_device_id_are_refused(tmp_path: Path) -> None:
    mac = "02:F1:00:00:00:01"
    path = tmp_path / "s.csv"
    wrong = device_id_from_mac("02:F1:00:00:00:02")
    path.write_text(f"mac_address,device_id,device_secret,key_generation\n{mac},{wrong},s,1\n")
    with pytest.raises(FleetStartError):
        read_secrets(path)
    with pytest.raises(FleetStartError):
        read_secrets(tmp_path / "missing.csv")


def test_password_is_the_hourly_hmac() -> None:
    mac = "02:F1:00:00:00:01"
    ident = DeviceIdentity(mac, device_id_from_mac(mac), "secret")
    assert ident.password(NOW) == mqtt_password("secret", ident.device_id, hour_of(NOW))


def test_clock_speed_and_skew() -> None:
    now = [100.0]
    clock = SimClock(speed=3600, monotonic=lambda: now[0], origin_wall=NOW)
    assert clock.now() == NOW
    now[0] += 2  # two real seconds = two device hours
    assert clock.now() == NOW + 7200
    assert clock.now(skew_s=-60) == NOW + 7140


def test_skewed_and_wrong_passwords_fail_verification(
    offline_device: Callable[..., SimDevice],
) -> None:
    device = offline_device()
    secret, did = device.identity.device_secret, device.device_id
    assert verify_mqtt_password(secret, did, device._password(), device.now())
    device.fault = Fault.CLOCK_SKEW
    device.skew_s = device._pick_skew()
    assert abs(device.skew_s) >= 7200
    assert not verify_mqtt_password(secret, did, device._password(), device.ctx.clock.now())
    device.fault = Fault.WRONG_PASSWORD
    assert not verify_mqtt_password(secret, did, device._password(), device.ctx.clock.now())
