"""The cohort query language: the SQL it compiles to selects exactly what the plain-Python
evaluator selects on random fleets, no input escapes its parameters, parse ∘ render is the
identity, and version keys order like semver."""

import asyncio
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rs1contract.semver import parse_version

from helpers import NOW, fresh_db, query_trees
from rs1.devices import cohort_store
from rs1.errors import InvalidInput
from rs1.query import Atom, Bool, Not, QueryError, parse_query
from rs1.query.evaluate import DeviceFacts, matches
from rs1.query.render import render
from rs1.query.version_key import version_key
from rs1.timefmt import iso_ms

NOW_MS = int(NOW * 1000)
VERSIONS = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0"]
TAG_KEYS = ["site", "floor", "ring"]
TAG_VALUES = ["berlin", "paris", "2", "x y", 'q"uote']
USERS = ["alice", "bob"]
CONFIG = ["applied", "pending", "rejected", "none"]


# --- random fleets -------------------------------------------------------------------------


@st.composite
def devices(draw, n: int) -> DeviceFacts:
    return DeviceFacts(
        device_id=f"{n:032x}",
        version=draw(st.none() | st.sampled_from([*VERSIONS, "garbage"])),
        model=draw(st.none() | st.sampled_from(["RS-1", "RS-2"])),
        online=draw(st.booleans()),
        last_seen=draw(st.none() | st.integers(0, 3 * 3_600_000).map(lambda a: iso_ms(NOW_MS - a))),
        rssi=draw(st.none() | st.integers(-100, -30)),
        tags=draw(st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES))),
        owners=frozenset(draw(st.lists(st.sampled_from(USERS), max_size=1))),
        config=draw(st.sampled_from(CONFIG)),
        status=draw(st.sampled_from(["active", "revoked"])),
    )  # fmt: skip


fleets = st.integers(1, 12).flatmap(lambda n: st.tuples(*(devices(i) for i in range(n))))

values = st.sampled_from(TAG_VALUES)
atoms = st.one_of(
    st.builds(Atom, st.just("online"), st.sampled_from(["=", "!="])),
    st.builds(lambda op, v: Atom("version", op, v),
              st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), st.sampled_from(VERSIONS)),
    st.builds(lambda op, v: Atom("model", op, v), st.sampled_from(["=", "!="]),
              st.sampled_from(["RS-1", "RS-2"])),
    st.builds(lambda op, v: Atom("rssi", op, v),
              st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), st.integers(-100, -30)),
    st.builds(lambda op, v: Atom("seen", op, v), st.sampled_from(["<", ">"]),
              st.sampled_from([60_000, 3_600_000, 7_200_000])),
    st.builds(lambda op, v: Atom("owner", op, v), st.sampled_from(["=", "!="]),
              st.sampled_from([*USERS, "carol"])),
    st.builds(lambda op, v: Atom("config", op, v), st.sampled_from(["=", "!="]),
              st.sampled_from(CONFIG)),
    st.builds(lambda op, v: Atom("status", op, v), st.sampled_from(["=", "!="]),
              st.sampled_from(["active", "revoked"])),
    st.builds(lambda k: Atom("tag", "has", None, k), st.sampled_from(TAG_KEYS)),
    st.builds(lambda op, k, v: Atom("tag", op, v, k), st.sampled_from(["=", "!="]),
              st.sampled_from(TAG_KEYS), values),
    st.builds(lambda k, vs: Atom("tag", "in", tuple(vs), k), st.sampled_from(TAG_KEYS),
              st.lists(values, min_size=1, max_size=3)),
)  # fmt: skip
queries = query_trees(atoms, max_leaves=8)


def _config_columns(config: str) -> tuple[int, int | None, int | None]:
    """(config_version, config_rejected_version, newest zone_configs version) for a state."""
    return {"none": (0, None, None), "applied": (2, None, 2), "rejected": (1, 2, 2),
            "pending": (1, None, 2)}[config]  # fmt: skip


def insert(db, fleet: tuple[DeviceFacts, ...]) -> None:
    conn: sqlite3.Connection = db.conn
    for i, d in enumerate(fleet):
        applied, rejected, latest = _config_columns(d.config)
        conn.execute(
            "INSERT INTO devices (device_id, mac_address, firmware_version, version_key, model, "
            "online, last_seen, rssi, config_version, config_rejected_version, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.device_id, f"m{i}", d.version, d.version and version_key(d.version), d.model,
             int(d.online), d.last_seen, d.rssi, applied, rejected, d.status),
        )  # fmt: skip
        for key, value in d.tags.items():
            conn.execute("INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?)",
                         (d.device_id, key, value))  # fmt: skip
        for user in d.owners:
            conn.execute("INSERT INTO device_ownership (device_id, user_id, role) "
                         "VALUES (?, ?, 'owner')", (d.device_id, user))  # fmt: skip
        if not d.owners:  # shared with a viewer: a viewer is not an owner
            conn.execute("INSERT INTO device_ownership (device_id, user_id, role) "
                         "VALUES (?, 'alice', 'viewer')", (d.device_id,))  # fmt: skip
        for version in range(1, (latest or 0) + 1):
            conn.execute("INSERT INTO zone_configs (device_id, version, config_json) "
                         "VALUES (?, ?, '{}')", (d.device_id, version))  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets, query=queries)
def test_the_sql_selects_what_the_evaluator_selects(fleet, query) -> None:
    db = fresh_db()
    insert(db, fleet)
    chosen = asyncio.run(cohort_store.matching_ids(db, query, NOW_MS, limit=1000))
    assert chosen == sorted(d.device_id for d in fleet if matches(query, d, NOW_MS))


@given(queries)
def test_render_then_parse_is_the_identity(query) -> None:
    assert parse_query(render(query)) == query


# --- nothing escapes the parameters --------------------------------------------------------

# Every SQL token the compiler may emit: its fixed vocabulary, placeholders, and numbers.
_VOCABULARY = re.compile(
    r"\s+|\?|[(),=<>!-]+|'(?:RS-1|none|applied|rejected|pending|owner)'|[0-9]+|"
    r"[A-Za-z_][A-Za-z_.]*"
)
_WORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "EXISTS", "IN", "IS", "NULL", "COALESCE",
    "CASE", "WHEN", "THEN", "ELSE", "END", "MAX", "t.device_id", "d.device_id", "t.key",
    "t.value", "o.device_id", "o.user_id", "o.role", "d.online", "d.version_key", "d.rssi",
    "d.last_seen", "d.model", "d.status", "d.config_version", "d.config_rejected_version",
    "z.version", "z.device_id", "device_tags", "device_ownership", "zone_configs", "t", "o",
    "z",
}  # fmt: skip


def _only_vocabulary(sql: str) -> bool:
    at = 0
    while at < len(sql):
        match = _VOCABULARY.match(sql, at)
        if match is None:
            return False
        word = match.group()
        if (word[0].isalpha() or word[0] == "_") and word not in _WORDS:
            return False
        at = match.end()
    return True


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_any_text_is_an_error_or_sql_of_the_fixed_vocabulary(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as exc:
        assert isinstance(exc, InvalidInput) and exc.code == "invalid_query"
        return
    sql, params = cohort_store.where(query, NOW_MS)
    assert _only_vocabulary(sql), sql
    assert sql.count("?") == len(params)
    db = fresh_db()
    asyncio.run(cohort_store.matching_ids(db, query, NOW_MS))  # it runs


@settings(max_examples=300)
@given(st.text(max_size=60), st.sampled_from(["model", "owner", "tag:site"]))
def test_quoted_values_are_parameters_whatever_they_hold(value: str, field: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    query = parse_query(f'{field} = "{escaped}"')
    sql, params = cohort_store.where(query, NOW_MS)
    assert value in params
    assert _only_vocabulary(sql), sql
    db = fresh_db()
    insert(db, (DeviceFacts("f" * 32, model=value, tags={"site": value}, owners=frozenset()),))
    found = asyncio.run(cohort_store.matching_ids(db, query, NOW_MS))
    assert found == (["f" * 32] if field != "owner" else [])


# --- the parser --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version <", 10),
        ("foo = 1", 1),
        ("tag:Site = x", 5),
        ("(online", 8),
        ("online online", 8),
        ("rssi > loud", 8),
        ("seen < 10y", 8),
        ("version = 1.2", 11),
        ("config = sideways", 10),
        ("id = 12", 6),
        ("online and", 11),
        ("", 1),
        ("online $", 8),
    ],
)
def test_errors_name_the_position(text: str, where: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert f"at character {where}." in caught.value.message


def test_limits() -> None:
    with pytest.raises(QueryError):
        parse_query("online or " * 200 + "online")  # > 1024 characters
    with pytest.raises(QueryError):
        parse_query(" or ".join(["online"] * 33))  # > 32 conditions
    with pytest.raises(QueryError):
        parse_query("not " * 17 + "online")  # deeper than 16
    with pytest.raises(QueryError):
        parse_query(f"tag:a in ({', '.join(str(i) for i in range(17))})")
    many = " or ".join(f"tag:k in ({', '.join(str(i) for i in range(3))})" for _ in range(16))
    with pytest.raises(QueryError):
        cohort_store.where(parse_query(many), NOW_MS)  # 64 parameters: D1 binds 100


def test_keywords_are_case_insensitive_and_precedence_is_not_and_or() -> None:
    parsed = parse_query("NOT online AND model = RS-1 OR Offline")
    assert parsed == Bool("or", (
        Bool("and", (Not(Atom("online", "=")), Atom("model", "=", "RS-1"))),
        Atom("online", "!="),
    ))  # fmt: skip


# --- version keys ------------------------------------------------------------------------

semvers = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{pre}" if pre else ""),
    st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000),
    st.one_of(st.just(""), st.lists(
        st.one_of(st.integers(0, 10**6).map(str), st.from_regex(r"[0-9]*[A-Za-z-][0-9A-Za-z-]*",
                                                                fullmatch=True)),
        min_size=1, max_size=3).map(".".join)),
).filter(lambda v: len(v) <= 32)  # fmt: skip


@given(semvers, semvers)
def test_version_keys_order_like_semver(a: str, b: str) -> None:
    ka, kb = version_key(a), version_key(b)
    assert ka is not None and kb is not None
    va, vb = parse_version(a), parse_version(b)
    assert (ka < kb) == (va < vb) and (ka == kb) == (va == vb)


def test_a_non_version_has_no_key() -> None:
    assert version_key("1.0") is None and version_key("garbage") is None
