"""Which shard holds a device (rs1.storage.shards) and how a Worker's config names its shards."""

from collections import Counter
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import fresh_db
from rs1.identity.device_id import device_id_from_mac
from rs1.services import Services, services_from_env
from rs1.settings import Settings, SettingsError
from rs1.storage.shards import Shards, jump_hash, shard_of

device_ids = st.text("0123456789abcdef", min_size=32, max_size=32)


def fleet(n: int) -> list[str]:
    return [device_id_from_mac(f"02:00:00:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}")
            for i in range(n)]  # fmt: skip


def test_the_hash_is_the_published_jump_consistent_hash() -> None:
    """Lamping & Veach's function: the vectors other implementations test against."""
    cases = [(1, 1, 0), (42, 57, 43), (256, 1024, 520), (3735883980, 1, 0),
             (3735883980, 666, 361), (16045690984833335023, 255, 237)]  # fmt: skip
    assert [jump_hash(key, n) for key, n, _ in cases] == [want for _, _, want in cases]


def test_where_devices_live_never_changes() -> None:
    """Pinned: a different answer here would strand every stored row (a reshard)."""
    assert [shard_of(c * 32, 2) for c in "abcdef0"] == [0, 1, 0, 1, 1, 1, 1]
    assert [shard_of("0" * 32, n) for n in (1, 2, 3, 4, 8, 16)] == [0, 1, 2, 3, 6, 12]
    assert shard_of("92267cc77897e83bece5a143e608d536", 8) == 7


@settings(max_examples=300, deadline=None)
@given(device_ids, st.integers(1, 64))
def test_a_device_always_maps_to_the_same_shard(device_id: str, n: int) -> None:
    shard = shard_of(device_id, n)
    assert 0 <= shard < n
    assert shard_of(device_id, n) == shard  # every call, every isolate: no salted hash()
    databases = [fresh_db() for _ in range(n)] if n <= 4 else [object()] * n
    assert Shards(databases).index_of(device_id) == shard
    assert shard_of(device_id, 1) == 0  # one shard: today's single database


@settings(max_examples=300, deadline=None)
@given(device_ids, st.integers(1, 63))
def test_adding_a_shard_moves_devices_only_into_the_new_one(device_id: str, n: int) -> None:
    """Consistent: N → N + 1 moves about 1/(N + 1) of the devices, all to shard N."""
    assert shard_of(device_id, n + 1) in (shard_of(device_id, n), n)


@pytest.mark.parametrize("n", [2, 3, 4, 8, 16])
def test_every_shard_gets_its_share_of_a_fleet(n: int) -> None:
    counts = Counter(shard_of(d, n) for d in fleet(400 * n))
    assert sorted(counts) == list(range(n))
    assert all(300 <= c <= 500 for c in counts.values()), counts


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 32))
def test_all_shards_are_used(n: int) -> None:
    assert {shard_of(d, n) for d in fleet(60 * n)} == set(range(n))


def test_split_keeps_order_and_omits_empty_shards() -> None:
    a, b = "a" * 32, "b" * 32  # shards 0 and 1 of 2
    shards = Shards([fresh_db(), fresh_db()])
    assert shards.split([b, a, b], lambda d: d) == {1: [b, b], 0: [a]}
    assert shards.split([a], lambda d: d) == {0: [a]}


@pytest.mark.parametrize(
    ("value", "shards"), [(None, 1), ("1", 1), ("2", 2), (" 3 ", 3), ("64", 64)]
)
def test_telemetry_shards_is_read_from_the_vars(value: str | None, shards: int) -> None:
    env = SimpleNamespace() if value is None else SimpleNamespace(TELEMETRY_SHARDS=value)
    assert Settings.from_env(env).telemetry_shards == shards


@pytest.mark.parametrize("value", ["0", "-1", "two", "", "1.5"])
def test_a_bad_shard_count_is_a_settings_error(value: str) -> None:
    with pytest.raises(SettingsError, match="TELEMETRY_SHARDS"):
        Settings.from_env(SimpleNamespace(TELEMETRY_SHARDS=value))


def _env(**bindings: object) -> SimpleNamespace:
    return SimpleNamespace(DB=object(), **bindings)


class Bound:
    """A database adapter that only records its binding (services_from_env's `database`)."""

    def __init__(self, binding: object) -> None:
        self.binding = binding


def test_the_shards_are_db_then_the_numbered_bindings() -> None:
    one, two = object(), object()
    env = _env(TELEMETRY_SHARDS="3", TELEMETRY_DB_1=one, TELEMETRY_DB_2=two)
    svc = services_from_env(env, None, lambda _: None, Bound)
    shards = svc.telemetry_shards
    assert len(shards) == 3 and shards.main is svc.db
    assert [db.binding for db in shards.databases[1:]] == [one, two]


def test_one_shard_is_db_alone_even_where_a_shard_binding_exists() -> None:
    svc = services_from_env(_env(TELEMETRY_DB_1=object()), None, lambda _: None, Bound)
    assert svc.telemetry_shards.databases == (svc.db,)


def test_a_missing_shard_binding_is_a_settings_error_never_fewer_shards() -> None:
    svc = services_from_env(_env(TELEMETRY_SHARDS="2"), None, lambda _: None, Bound)
    with pytest.raises(SettingsError, match="TELEMETRY_DB_1"):
        _ = svc.telemetry_shards
    db = fresh_db()
    partial = Services(Settings(telemetry_shards=4), db, telemetry_dbs={2: fresh_db()})
    with pytest.raises(SettingsError, match=r"TELEMETRY_DB_1, TELEMETRY_DB_3\.$"):
        _ = partial.telemetry_shards
    assert Services(Settings(), db).telemetry_shards.databases == (db,)
