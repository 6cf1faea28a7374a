"""The broker's pure parts: topic matching, rule SQL, reply reading, the authz cache."""

import pytest
from rs1broker.authn import read_authn_reply
from rs1broker.authz import read_authz_reply
from rs1broker.authz_cache import AuthzCache
from rs1broker.rule_sql import UnsupportedSql, rule_source
from rs1broker.topics import is_topic_filter, is_topic_name, matches
from rs1broker.webhook_client import HttpReply


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("opticworks/+/telemetry/#", "opticworks/d1/telemetry", True),
        ("opticworks/+/telemetry/#", "opticworks/d1/telemetry/a/b", True),
        ("opticworks/+/telemetry/#", "opticworks/d1/state", False),
        ("opticworks/+/state", "opticworks/d1/x/state", False),
        ("#", "$SYS/brokers", False),
        ("+/brokers", "$SYS/brokers", False),
        ("$SYS/#", "$SYS/brokers", True),
        ("a/b", "a/b", True),
    ],
)
def test_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert matches(topic_filter, topic) is expected


def test_topic_validation() -> None:
    assert is_topic_name("a/b") and not is_topic_name("a/+") and not is_topic_name("")
    assert is_topic_filter("a/+/#") and not is_topic_filter("a/#/b") and not is_topic_filter("a+")


def test_rule_sql() -> None:
    assert rule_source('SELECT * FROM "opticworks/+/state"') == "opticworks/+/state"
    assert rule_source("select *  from '$events/client_connected'") == "$events/client_connected"
    unsupported = [
        'SELECT payload FROM "t"',
        'SELECT * FROM "t" WHERE qos = 1',
        'SELECT * FROM "$events/message_delivered"',
    ]
    for sql in unsupported:
        with pytest.raises(UnsupportedSql):
            rule_source(sql)


def _reply(status: int, body: bytes = b"", kind: str = "application/json") -> HttpReply:
    return HttpReply(status, kind, body)


def test_authn_reply_reading() -> None:
    allow = read_authn_reply(_reply(200, b'{"result":"allow","is_superuser":"true"}'))
    assert (allow.outcome, allow.is_superuser) == ("allow", True)
    form = read_authn_reply(_reply(200, b"result=deny", "application/x-www-form-urlencoded"))
    assert form.outcome == "deny"
    assert read_authn_reply(_reply(200, b"[]")).outcome == "ignore"


def test_authz_reply_reading() -> None:
    assert read_authz_reply(_reply(204)) == "allow"
    assert read_authz_reply(_reply(200, b'{"result":"deny"}')) == "deny"
    assert read_authz_reply(_reply(200, b'{"result":"ignore"}')) is None
    assert read_authz_reply(_reply(201, b'{"result":"allow"}')) is None


def test_authz_cache_ttl_size_and_drop() -> None:
    now = [0.0]
    cache = AuthzCache(max_size=2, ttl=60, clock=lambda: now[0])
    cache.put("c", "a", True)
    cache.put("c", "b", False)
    assert (cache.get("c", "a"), cache.get("c", "b")) == (True, False)
    cache.put("c", "x", True)  # evicts the least recently used ("a")
    assert cache.get("c", "a") is None and cache.get("other", "b") is None
    now[0] = 60.0
    assert cache.get("c", "b") is None
    cache.put("c", "y", True)
    cache.drop("c")
    assert cache.get("c", "y") is None
