"""SQL for the device registry (D1). Values in and out are plain Python."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rs1.devices.presence import PresenceEvent, counts_as_offline
from rs1.outbox.store import NewEvent, run_with_events
from rs1.storage.database import Database, Row, Statement
from rs1.timefmt import iso_ms

ACTIVE, REVOKED = "active", "revoked"
DEVICE_COLUMNS = (
    "device_id, mac_address, model, firmware_version, last_seen, online, config_version, "
    "status, key_generation, created_at"
)


def public_device(row: Row) -> dict[str, Any]:
    return {**row, "online": bool(row["online"])}


async def get_device(db: Database, device_id: str) -> Row | None:
    return await db.first(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = ?", device_id)


async def exists(db: Database, device_id: str) -> bool:
    """Enrolled (revoked ones included)."""
    return await db.first("SELECT 1 AS x FROM devices WHERE device_id = ?", device_id) is not None


async def get_status(db: Database, device_id: str) -> tuple[str, int] | None:
    row = await db.first(
        "SELECT status, key_generation FROM devices WHERE device_id = ?", device_id
    )
    return None if row is None else (row["status"], int(row["key_generation"]))


# Enrolled device ids this isolate has seen. Devices are never deleted (only revoked), so a
# positive answer never goes stale; the set is bounded and simply starts over when full.
_KNOWN: set[str] = set()
_KNOWN_MAX = 50_000


async def known_device_ids(db: Database, device_ids: Sequence[str]) -> set[str]:
    """The ids among `device_ids` that are enrolled (revoked ones included)."""
    known = set(device_ids) & _KNOWN
    wanted = sorted(set(device_ids) - known)
    for start in range(0, len(wanted), 90):
        chunk = wanted[start : start + 90]
        rows = await db.all(
            f"SELECT device_id FROM devices WHERE device_id IN ({','.join('?' * len(chunk))})",
            *chunk,
        )
        known.update(r["device_id"] for r in rows)
    if len(_KNOWN) + len(known) > _KNOWN_MAX:
        _KNOWN.clear()
    _KNOWN.update(known)
    return known


async def existing_macs(db: Database, macs: Sequence[str]) -> dict[str, Row]:
    """MAC → (device_id, key_generation) for MACs already enrolled; chunked for D1's limits."""
    found: dict[str, Row] = {}
    for start in range(0, len(macs), 90):
        chunk = macs[start : start + 90]
        marks = ",".join("?" * len(chunk))
        rows = await db.all(
            "SELECT mac_address, device_id, key_generation FROM devices "
            f"WHERE mac_address IN ({marks})",
            *chunk,
        )
        found.update({r["mac_address"]: r for r in rows})
    return found


INSERT_ROWS = 25


def insert_devices(devices: Sequence[tuple[str, str, str | None]]) -> list[Statement]:
    """Multi-row INSERTs of (device_id, mac, model), 25 rows each (D1 binds ≤ 100 params);
    each returns the MACs it inserted (one a racing call inserted first is left alone)."""
    statements = []
    for start in range(0, len(devices), INSERT_ROWS):
        chunk = devices[start : start + INSERT_ROWS]
        values = ",".join("(?, ?, ?, 1)" for _ in chunk)
        params = tuple(v for row in chunk for v in row)
        statements.append(
            Statement(
                "INSERT INTO devices (device_id, mac_address, model, key_generation) "
                f"VALUES {values} ON CONFLICT DO NOTHING RETURNING mac_address",
                params,
            )
        )
    return statements


def rotate_key(device_id: str, model: str | None) -> Statement:
    return Statement(
        "UPDATE devices SET key_generation = key_generation + 1, "
        "model = COALESCE(?, model) WHERE device_id = ? RETURNING device_id, key_generation",
        (model, device_id),
    )


async def set_status(db: Database, device_id: str, status: str, at: str) -> bool:
    result = await db.run(
        "UPDATE devices SET status = ?, status_changed_at = ? WHERE device_id = ?",
        status,
        at,
        device_id,
    )
    return result.changes > 0


async def set_owner_utc_offset(db: Database, device_id: str, offset: int | None) -> Row | None:
    """The owner's UTC offset for the device (None: back to the reported one); its row's
    owner_utc_offset_min and utc_offset_min, or None for an unknown device."""
    return await db.first(
        "UPDATE devices SET owner_utc_offset_min = ? WHERE device_id = ? "
        "RETURNING owner_utc_offset_min, utc_offset_min",
        offset,
        device_id,
    )


async def search(
    db: Database,
    *,
    after: str,
    version: str | None,
    online: bool | None,
    owner: str | None,
    limit: int,
) -> list[Row]:
    """The admin's registry page: ids after `after`, each filter applied only when given."""
    up = None if online is None else int(online)
    return await db.all(
        "SELECT d.device_id, d.mac_address, d.model, d.firmware_version, d.online, d.last_seen, "
        "d.status, d.config_version FROM devices d WHERE d.device_id > ? "
        "AND (? IS NULL OR d.firmware_version = ?) AND (? IS NULL OR d.online = ?) "
        "AND (? IS NULL OR EXISTS (SELECT 1 FROM device_ownership o WHERE "
        "o.device_id = d.device_id AND o.user_id = ?)) ORDER BY d.device_id LIMIT ?",
        after, version, version, up, up, owner, owner, limit,
    )  # fmt: skip


async def fleet_totals(db: Database) -> Row:
    """registered, online and revoked over the whole registry."""
    row = await db.first(
        "SELECT COUNT(*) AS registered, COALESCE(SUM(online), 0) AS online, "
        "COALESCE(SUM(status = 'revoked'), 0) AS revoked FROM devices"
    )
    assert row is not None  # an aggregate always answers one row
    return row


async def firmware_versions(db: Database) -> list[Row]:
    """Active devices per firmware version (version, devices, online), commonest first."""
    return await db.all(
        "SELECT COALESCE(firmware_version, 'unknown') AS version, COUNT(*) AS devices, "
        "COALESCE(SUM(online), 0) AS online FROM devices WHERE status = 'active' "
        "GROUP BY version ORDER BY devices DESC"
    )


def presence_statement(device_id: str, event: PresenceEvent) -> Statement:
    """One UPDATE applying the max-register rule of rs1.devices.presence (old values on the
    right-hand side, as SQL UPDATE evaluates them)."""
    seen = iso_ms(event.at_ms)
    if event.kind == "connected":
        return Statement(
            "UPDATE devices SET presence_connected_at = MAX(presence_connected_at, ?1), "
            "online = MAX(presence_connected_at, ?1) > presence_disconnected_at, "
            "last_seen = MAX(COALESCE(last_seen, ''), ?2) WHERE device_id = ?3",
            (event.at_ms, seen, device_id),
        )
    if counts_as_offline(event):
        return Statement(
            "UPDATE devices SET presence_disconnected_at = MAX(presence_disconnected_at, ?1), "
            "online = presence_connected_at > MAX(presence_disconnected_at, ?1), "
            "last_seen = MAX(COALESCE(last_seen, ''), ?2) WHERE device_id = ?3",
            (event.at_ms, seen, device_id),
        )
    return Statement(
        "UPDATE devices SET last_seen = MAX(COALESCE(last_seen, ''), ?1) WHERE device_id = ?2",
        (seen, device_id),
    )


REBOOT_SLACK_MS = 5_000


@dataclass(frozen=True)
class StateFacts:
    """What a `state` message tells about the device besides presence."""

    firmware_version: str | None = None
    version_key: str | None = None  # rs1.query.version_key of firmware_version
    booted_at: int | None = None  # unix ms: the message's time minus the reported uptime
    rssi: int | None = None
    utc_offset_min: int | None = None


def state_statement(device_id: str, facts: StateFacts, at_ms: int) -> Statement:
    """A `state` message: the facts of the newest state message win, by state messages' own
    times (state_at), whatever else moved last_seen; last_seen advances. A boot time later
    than the previous one (by more than REBOOT_SLACK_MS of clock and latency noise) is a
    reboot: the soak of a rollout counts them."""
    seen = iso_ms(at_ms)
    newer = "?1 IS NOT NULL AND ?2 >= COALESCE(state_at, '')"  # old values: UPDATE semantics

    def fact(column: str, mark: str) -> str:
        return f"{column} = CASE WHEN {newer} AND {mark} IS NOT NULL THEN {mark} ELSE {column} END"

    rebooted = f"{newer} AND ?5 IS NOT NULL AND booted_at IS NOT NULL AND ?5 > booted_at + ?8"
    return Statement(
        f"UPDATE devices SET {fact('firmware_version', '?1')}, {fact('version_key', '?4')}, "
        f"reboots = reboots + CASE WHEN {rebooted} THEN 1 ELSE 0 END, "
        f"{fact('booted_at', '?5')}, {fact('rssi', '?6')}, {fact('utc_offset_min', '?7')}, "
        f"state_at = CASE WHEN {newer} THEN ?2 ELSE state_at END, "
        "last_seen = MAX(COALESCE(last_seen, ''), ?2) WHERE device_id = ?3",
        (facts.firmware_version, seen, device_id, facts.version_key, facts.booted_at,
         facts.rssi, facts.utc_offset_min, REBOOT_SLACK_MS),
    )  # fmt: skip


async def apply_presence(db: Database, device_id: str, event: PresenceEvent) -> bool:
    """True if the device is enrolled (the statement touched its row)."""
    statement = presence_statement(device_id, event)
    events: list[NewEvent] = []
    if event.kind == "connected" or counts_as_offline(event):
        online = event.kind == "connected"
        events.append(presence_event(device_id, online, event.at_ms, iso_ms(event.at_ms)))
    return await run_with_events(db, statement, events) > 0


async def record_state(
    db: Database,
    device_id: str,
    facts: StateFacts,
    event: PresenceEvent,
    extra: Sequence[Statement] = (),
) -> None:
    """A `state` message: its facts, its presence (and `extra`, e.g. its reported tags), in
    one transaction."""
    await db.batch(
        [state_statement(device_id, facts, event.at_ms), presence_statement(device_id, event),
         *extra]
    )  # fmt: skip


def advance_last_seen(
    seen: Sequence[tuple[str, str, int, int | None, int | None]],
) -> Statement:
    """(device_id, ISO time, unix ms, newest radar error and radar ok in unix ms or None) of
    telemetry: last_seen, telemetry_at, radar_error_at and radar_ok_at only move forward. A
    statement, so telemetry ingestion can batch it with the rows it stores (one D1 batch, all
    or nothing)."""
    return Statement(
        # A join (UPDATE ... FROM): the JSON is read once, not once per device updated.
        "UPDATE devices SET last_seen = MAX(COALESCE(devices.last_seen, ''), seen.at), "
        "telemetry_at = MAX(COALESCE(devices.telemetry_at, 0), seen.at_ms), "
        "radar_error_at = MAX(COALESCE(devices.radar_error_at, 0), COALESCE(seen.bad, 0)), "
        "radar_ok_at = MAX(COALESCE(devices.radar_ok_at, 0), COALESCE(seen.ok, 0)) "
        "FROM (SELECT value ->> 0 AS device_id, MAX(value ->> 1) AS at, "
        "MAX(value ->> 2) AS at_ms, MAX(value ->> 3) AS bad, MAX(value ->> 4) AS ok "
        "FROM json_each(?) "
        "GROUP BY 1) AS seen "
        "WHERE devices.device_id = seen.device_id",
        (json.dumps(seen, separators=(",", ":")),),  # one parameter: see telemetry.store
    )


# --- the outbound events its changes emit (rs1.outbox) ---

_DEVICE = "EXISTS (SELECT 1 FROM devices WHERE device_id = ?"


def enrolled_event(
    device_id: str, mac: str, model: str | None, at_ms: int, rotated: bool
) -> NewEvent:
    data = {"device_id": device_id, "mac_address": mac, "model": model, "key_rotated": rotated}
    key = f"{device_id}:rotated:{at_ms}" if rotated else f"{device_id}:1"
    return NewEvent("device.enrolled", key, data, at_ms, f"{_DEVICE})", (device_id,))


def revoked_event(device_id: str, at: str, at_ms: int) -> NewEvent:
    """device.revoked, if the revocation made at `at` stands."""
    when = f"{_DEVICE} AND status = 'revoked' AND status_changed_at = ?)"
    data = {"device_id": device_id, "revoked_at": at}
    return NewEvent("device.revoked", f"{device_id}:{at}", data, at_ms, when, (device_id, at))


def presence_event(device_id: str, connected: bool, at_ms: int, at: str) -> NewEvent:
    """Online when this connect is the device's newest presence fact; offline likewise."""
    if connected:
        when = f"{_DEVICE} AND online = 1 AND presence_connected_at = ?)"
        kind = "device.online"
    else:
        when = f"{_DEVICE} AND online = 0 AND presence_disconnected_at = ?)"
        kind = "device.offline"
    data = {"device_id": device_id, "at": at}
    return NewEvent(kind, f"{device_id}:{at_ms}", data, at_ms, when, (device_id, at_ms))
