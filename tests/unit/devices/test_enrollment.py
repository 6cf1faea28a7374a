import asyncio

from rs1.devices.enrollment import EnrollItem, enroll
from rs1.identity.device_id import device_id_from_mac
from rs1.identity.keys import derive_device_secret

MASTER = "test-master-key"


def run_enroll(db, macs: list[str], rotate: bool = False):
    return asyncio.run(enroll(db, MASTER, [EnrollItem(m) for m in macs], rotate))


def test_enrol_returns_id_and_secret_once(db) -> None:
    result = run_enroll(db, ["aa:bb:cc:dd:ee:01"])
    (device,) = result.enrolled
    assert device["device_id"] == device_id_from_mac("AA:BB:CC:DD:EE:01")
    assert device["mac_address"] == "AA:BB:CC:DD:EE:01"
    assert device["device_secret"] == derive_device_secret(MASTER, device["device_id"], 1)


def test_re_enrolment_conflicts_unless_rotating(db) -> None:
    first = run_enroll(db, ["AA:BB:CC:DD:EE:01"]).enrolled[0]
    again = run_enroll(db, ["aa-bb-cc-dd-ee-01"])
    assert again.enrolled == [] and again.conflicts[0]["device_id"] == first["device_id"]
    rotated = run_enroll(db, ["AA:BB:CC:DD:EE:01"], rotate=True).enrolled[0]
    assert rotated["key_generation"] == 2
    assert rotated["device_secret"] != first["device_secret"]


def test_batch_reports_invalid_and_duplicate_macs_per_item(db) -> None:
    result = run_enroll(db, ["AA:BB:CC:DD:EE:01", "nope", "aabbccddee01", "AA:BB:CC:DD:EE:02"])
    assert [d["mac_address"] for d in result.enrolled] == ["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"]
    assert [i["index"] for i in result.invalid] == [1, 2]


def test_factory_batch_of_ten_thousand(db) -> None:
    macs = [f"02:00:00:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}" for i in range(10_000)]
    result = run_enroll(db, macs)
    assert len(result.enrolled) == 10_000
    assert asyncio.run(db.first("SELECT COUNT(*) AS n FROM devices"))["n"] == 10_000


def test_no_stored_value_equals_or_reveals_a_device_key(db) -> None:
    import hashlib

    devices = run_enroll(db, [f"AA:BB:CC:DD:EE:{i:02X}" for i in range(20)]).enrolled
    forms = set()
    for d in devices:
        secret = d["device_secret"]
        forms |= {secret, secret.upper(), hashlib.sha256(secret.encode()).hexdigest()}
        forms |= {secret[:32], secret[32:]}  # halves would be a partial reveal
    tables = asyncio.run(db.all("SELECT name FROM sqlite_master WHERE type = 'table'"))
    for table in (t["name"] for t in tables):
        for row in asyncio.run(db.all(f"SELECT * FROM {table}")):
            for value in row.values():
                text = str(value)
                assert not any(form in text for form in forms), (table, value)
