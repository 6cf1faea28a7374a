"""Enrolment: register MACs, hand out device secrets (once), rotate keys on request."""

from dataclasses import dataclass
from typing import Any

from rs1.devices import store
from rs1.identity.device_id import InvalidMac, device_id_from_mac, normalize_mac
from rs1.identity.keys import derive_device_secret
from rs1.storage.database import Database, Statement

BATCH_STATEMENTS = 50  # statements per D1 batch() call


@dataclass(frozen=True)
class EnrollItem:
    mac_address: str
    model: str | None = None


@dataclass
class EnrollResult:
    enrolled: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    invalid: list[dict[str, Any]]


def _split_valid(items: list[EnrollItem]) -> tuple[list[EnrollItem], list[dict[str, Any]]]:
    valid: list[EnrollItem] = []
    invalid: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            mac = normalize_mac(item.mac_address)
        except InvalidMac as exc:
            invalid.append({"index": index, "mac_address": item.mac_address, "message": str(exc)})
            continue
        if mac in seen:
            message = "duplicate MAC in this request"
            invalid.append({"index": index, "mac_address": mac, "message": message})
            continue
        seen.add(mac)
        valid.append(EnrollItem(mac, item.model))
    return valid, invalid


async def _run_batched(db: Database, statements: list[Statement]) -> None:
    for start in range(0, len(statements), BATCH_STATEMENTS):
        await db.batch(statements[start : start + BATCH_STATEMENTS])


async def enroll(
    db: Database, master_key: str, items: list[EnrollItem], rotate: bool
) -> EnrollResult:
    valid, invalid = _split_valid(items)
    existing = await store.existing_macs(db, [i.mac_address for i in valid])
    new = [i for i in valid if i.mac_address not in existing]
    again = [i for i in valid if i.mac_address in existing]
    rows = [(device_id_from_mac(i.mac_address), i.mac_address, i.model) for i in new]
    statements = store.insert_devices(rows)
    if rotate:
        statements += [
            store.rotate_key(existing[i.mac_address]["device_id"], i.model) for i in again
        ]
    await _run_batched(db, statements)

    def issued(mac: str, device_id: str, generation: int, model: str | None) -> dict[str, Any]:
        secret = derive_device_secret(master_key, device_id, generation)
        return {
            "device_id": device_id,
            "mac_address": mac,
            "model": model,
            "device_secret": secret,
            "key_generation": generation,
        }

    enrolled = [issued(mac, did, 1, model) for did, mac, model in rows]
    conflicts: list[dict[str, Any]] = []
    for item in again:
        row = existing[item.mac_address]
        if rotate:
            generation = int(row["key_generation"]) + 1
            enrolled.append(issued(item.mac_address, row["device_id"], generation, item.model))
        else:
            conflicts.append({"mac_address": item.mac_address, "device_id": row["device_id"]})
    return EnrollResult(enrolled, conflicts, invalid)
