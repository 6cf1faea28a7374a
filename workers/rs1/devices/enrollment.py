"""Enrolment: register MACs, hand out device secrets (once), rotate keys on request."""

import time
from dataclasses import dataclass
from typing import Any

from rs1.devices import store
from rs1.identity.device_id import InvalidMac, device_id_from_mac, normalize_mac
from rs1.identity.keys import derive_device_secret
from rs1.outbox import store as outbox
from rs1.outbox.store import NewEvent
from rs1.storage.database import Database, Statement

# Statements per D1 batch() call: an insert of 25 devices and 2 per device for its event.
BATCH_STATEMENTS = 500


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


async def _run_batched(
    db: Database, groups: list[tuple[Statement, list[NewEvent]]]
) -> list[list[dict[str, Any]]]:
    """Each statement with its devices' events in the same batch; the statements' own
    results, in order."""
    results: list[list[dict[str, Any]]] = []
    chunk: list[Statement] = []
    own: list[int] = []
    for statement, events in groups:
        extra = outbox.statements(events)
        if chunk and len(chunk) + 1 + len(extra) > BATCH_STATEMENTS:
            results += _own(await db.batch(chunk), own)
            chunk, own = [], []
        own.append(len(chunk))
        chunk += [statement, *extra]
    if chunk:
        results += _own(await db.batch(chunk), own)
    return results


def _chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _own(results: list[list[dict[str, Any]]], own: list[int]) -> list[list[dict[str, Any]]]:
    return [results[i] for i in own]


def _issued(
    master_key: str, mac: str, device_id: str, generation: int, model: str | None
) -> dict[str, Any]:
    secret = derive_device_secret(master_key, device_id, generation)
    return {
        "device_id": device_id,
        "mac_address": mac,
        "model": model,
        "device_secret": secret,
        "key_generation": generation,
    }


async def enroll(
    db: Database, master_key: str, items: list[EnrollItem], rotate: bool, at_ms: int | None = None
) -> EnrollResult:
    """The database decides every race: a MAC that a concurrent call enrolled a moment ago is
    a conflict here (its insert did nothing), and each rotation hands out the generation its
    own increment produced, so no caller is given a secret that a later rotation replaced."""
    valid, invalid = _split_valid(items)
    existing = await store.existing_macs(db, [i.mac_address for i in valid])
    new = [i for i in valid if i.mac_address not in existing]
    again = [i for i in valid if i.mac_address in existing]
    rows = [(device_id_from_mac(i.mac_address), i.mac_address, i.model) for i in new]
    inserts = store.insert_devices(rows)

    def item_id(item: EnrollItem) -> str:
        return existing[item.mac_address]["device_id"]

    rotations = [store.rotate_key(item_id(i), i.model) for i in again]
    at = int(time.time() * 1000) if at_ms is None else at_ms
    groups = [
        (insert, [store.enrolled_event(d, mac, model, at, False) for d, mac, model in chunk])
        for insert, chunk in zip(inserts, _chunks(rows, store.INSERT_ROWS), strict=True)
    ]
    if rotate:
        groups += [
            (rotation, [store.enrolled_event(item_id(i), i.mac_address, i.model, at, True)])
            for rotation, i in zip(rotations, again, strict=True)
        ]
    results = await _run_batched(db, groups)
    inserted = {r["mac_address"] for rs in results[: len(inserts)] for r in rs}
    generation = {r["device_id"]: int(r["key_generation"]) for rs in results[len(inserts) :]
                  for r in rs}  # fmt: skip
    enrolled = [_issued(master_key, mac, did, 1, model) for did, mac, model in rows
                if mac in inserted]  # fmt: skip
    conflicts = [{"mac_address": mac, "device_id": did} for did, mac, _ in rows
                 if mac not in inserted]  # fmt: skip
    for item in again:
        device_id = existing[item.mac_address]["device_id"]
        if rotate:
            enrolled.append(
                _issued(master_key, item.mac_address, device_id, generation[device_id], item.model)
            )
        else:
            conflicts.append({"mac_address": item.mac_address, "device_id": device_id})
    return EnrollResult(enrolled, conflicts, invalid)
