"""Who the simulated devices are: MACs, device ids and secrets.

Secrets come from a secrets CSV (the file `rs1ctl enroll-batch` writes) or from enrolling
the fleet's MACs through the admin API with rotate=true, so re-running with the same seed
re-keys the same devices instead of failing on conflicts.
"""

import asyncio
import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rs1.identity.device_id import device_id_from_mac, normalize_mac
from rs1.identity.keys import hour_of, mqtt_password
from rs1tools import rs1ctl

SECRETS_HEADER = ("mac_address", "device_id", "device_secret", "key_generation")


class FleetStartError(RuntimeError):
    """The fleet cannot start at all (no secrets, no enrolment, no broker)."""


@dataclass(frozen=True)
class DeviceIdentity:
    mac_address: str
    device_id: str
    device_secret: str
    key_generation: int = 1

    def password(self, unix_seconds: float) -> str:
        return mqtt_password(self.device_secret, self.device_id, hour_of(unix_seconds))

    def as_row(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in SECRETS_HEADER}


def fleet_macs(count: int, seed: int) -> list[str]:
    """Locally administered MACs 02:F1:ss:ii:ii:ii — unique per index, stable per seed."""
    if count > 1 << 24:
        raise ValueError("at most 16,777,216 devices per fleet")
    tag = seed & 0xFF
    return [
        f"02:F1:{tag:02X}:{i >> 16:02X}:{(i >> 8) & 0xFF:02X}:{i & 0xFF:02X}" for i in range(count)
    ]


def identity_from_row(row: Mapping[str, object]) -> DeviceIdentity:
    """A secrets CSV row or an enrolment answer; the device id must match the MAC."""
    mac = normalize_mac(str(row["mac_address"]))
    device_id = str(row.get("device_id") or device_id_from_mac(mac))
    if device_id != device_id_from_mac(mac):
        raise ValueError(f"device_id {device_id} does not belong to MAC {mac}")
    generation = int(str(row.get("key_generation") or 1))
    return DeviceIdentity(mac, device_id, str(row["device_secret"]), generation)


def read_secrets(path: Path) -> list[DeviceIdentity]:
    try:
        with path.open(newline="") as f:
            return [identity_from_row(row) for row in csv.DictReader(f)]
    except (OSError, KeyError, ValueError) as exc:
        raise FleetStartError(f"cannot read secrets file {path}: {exc}") from exc


def write_secrets(path: Path, identities: list[DeviceIdentity]) -> None:
    """Same format and 0600 permissions as rs1ctl's batch output."""
    rs1ctl.write_secrets(path, [d.as_row() for d in identities])


async def enroll(api: str, macs: list[str], token: str | None = None) -> list[DeviceIdentity]:
    try:
        result = await asyncio.to_thread(rs1ctl.enroll_batch, api, macs, True, token)
    except SystemExit as exc:  # rs1ctl exits when JWT_SECRET is missing
        raise FleetStartError(str(exc)) from None
    except Exception as exc:
        raise FleetStartError(f"enrolment through {api} failed: {exc!r}") from exc
    if result["invalid"] or result["conflicts"]:
        bad = len(result["invalid"]) + len(result["conflicts"])
        raise FleetStartError(f"enrolment refused {bad} of {len(macs)} MACs")
    by_mac = {normalize_mac(d["mac_address"]): d for d in result["enrolled"]}
    return [identity_from_row(by_mac[normalize_mac(m)]) for m in macs]
