"""Applies every migration to an empty Miniflare D1 (wrangler's own command) and checks it."""

import pytest

from rs1tools.localstack import ROOT, apply_migrations, local_d1_query

EXPECTED_COLUMNS = {
    "devices": {
        "device_id",
        "mac_address",
        "firmware_version",
        "last_seen",
        "online",
        "config_version",
        "created_at",
    },
    "device_ownership": {"device_id", "user_id", "role"},
    "zone_configs": {"device_id", "version", "config_json", "updated_at", "updated_by"},
    "ota_rollouts": {
        "rollout_id",
        "firmware_version",
        "firmware_url",
        "firmware_sha256",
        "status",
        "target_percent",
        "created_at",
    },
    "ota_device_status": {
        "device_id",
        "rollout_id",
        "status",
        "progress",
        "error_message",
        "updated_at",
    },
    "security_log": {"event_type", "details", "ip", "timestamp"},
}


def d1_query(state_dir, sql: str) -> list[dict]:
    return local_d1_query(state_dir, sql)


@pytest.fixture(scope="module")
def fresh_d1(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("fresh-d1")
    apply_migrations(state_dir)
    return state_dir


def test_all_migrations_apply_and_give_the_spec_tables(fresh_d1) -> None:
    for table, columns in EXPECTED_COLUMNS.items():
        rows = d1_query(fresh_d1, f"SELECT name FROM pragma_table_info('{table}')")
        assert columns <= {r["name"] for r in rows}, table


def test_primary_keys_match_the_spec(fresh_d1) -> None:
    def pk(table: str) -> list[str]:
        rows = d1_query(fresh_d1, f"SELECT name, pk FROM pragma_table_info('{table}')")
        return [r["name"] for r in sorted(rows, key=lambda r: r["pk"]) if r["pk"]]

    assert pk("devices") == ["device_id"]
    assert pk("device_ownership") == ["device_id", "user_id"]
    assert pk("zone_configs") == ["device_id", "version"]
    assert pk("ota_rollouts") == ["rollout_id"]
    assert pk("ota_device_status") == ["device_id", "rollout_id"]


def test_defaults_match_the_spec(fresh_d1) -> None:
    d1_query(
        fresh_d1, "INSERT INTO devices (device_id, mac_address) VALUES ('" + "a" * 32 + "', 'm')"
    )
    row = d1_query(fresh_d1, "SELECT online, config_version, created_at FROM devices")[0]
    assert row["online"] == 0 and row["config_version"] == 0 and row["created_at"]


def test_migrations_are_recorded_so_reapplying_is_a_no_op(fresh_d1) -> None:
    apply_migrations(fresh_d1)
    rows = d1_query(fresh_d1, "SELECT name FROM d1_migrations ORDER BY id")
    names = [r["name"] for r in rows]
    assert names == sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
