"""Property tests of the device topic policy (a pure function)."""

from hypothesis import assume, given
from hypothesis import strategies as st
from rs1contract.topics import MAX_TOPIC_LENGTH, device_topic

from rs1.mqtt.acl import authorize

device_ids = st.text("0123456789abcdef", min_size=32, max_size=32)
level = st.text(
    st.characters(blacklist_characters="/+#\x00", blacklist_categories=("Cs",)), min_size=1
)
any_level = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)))
actions = st.sampled_from(["publish", "subscribe"])
PUBLISH = [("state",), ("ota", "status"), ("config", "status")]
SUBSCRIBE = [("ota", "trigger"), ("config", "update"), ("diag", "request")]


@given(device_ids, device_ids, st.lists(any_level, min_size=1, max_size=6), actions)
def test_no_device_can_reach_another_devices_topics(
    me: str, other: str, rest: list[str], action: str
) -> None:
    assume(me != other)
    topic = device_topic(other, *rest)
    assert not authorize(me, me, action, topic).allowed


@given(device_ids, st.lists(any_level, min_size=1, max_size=6), actions)
def test_wildcard_device_level_is_never_allowed(me: str, rest: list[str], action: str) -> None:
    for wildcard in ("+", "#"):
        assert not authorize(me, me, action, "/".join(["opticworks", wildcard, *rest])).allowed


@given(device_ids, st.sampled_from(PUBLISH))
def test_every_publish_topic_is_reachable(me: str, suffix: tuple[str, ...]) -> None:
    assert authorize(me, me, "publish", device_topic(me, *suffix)).allowed
    assert not authorize(me, me, "subscribe", device_topic(me, *suffix)).allowed


@given(device_ids, st.lists(level, max_size=5))
def test_any_depth_below_telemetry_is_publishable(me: str, rest: list[str]) -> None:
    topic = device_topic(me, "telemetry", *rest)
    assert authorize(me, me, "publish", topic).allowed == (len(topic) <= MAX_TOPIC_LENGTH)


@given(device_ids, st.sampled_from(SUBSCRIBE))
def test_every_subscribe_topic_is_reachable(me: str, suffix: tuple[str, ...]) -> None:
    assert authorize(me, me, "subscribe", device_topic(me, *suffix)).allowed
    assert not authorize(me, me, "publish", device_topic(me, *suffix)).allowed


@given(device_ids, st.lists(any_level, min_size=1, max_size=5), actions)
def test_wildcards_are_never_allowed(me: str, rest: list[str], action: str) -> None:
    for wildcard in ("+", "#"):
        for i in range(len(rest) + 1):
            topic = device_topic(me, *rest[:i], wildcard, *rest[i:])
            assert not authorize(me, me, action, topic).allowed


@given(device_ids, st.text(max_size=80), actions)
def test_dollar_topics_are_denied(me: str, tail: str, action: str) -> None:
    for prefix in ("$SYS/", "$share/g/", "$queue/", "$"):
        assert not authorize(me, me, action, prefix + device_topic(me, "state") + tail).allowed


@given(device_ids, device_ids, actions)
def test_client_id_must_be_the_username(me: str, client: str, action: str) -> None:
    assume(me != client)
    assert not authorize(me, client, action, device_topic(me, "state")).allowed


@given(st.text(max_size=40), st.sampled_from(PUBLISH))
def test_non_device_usernames_are_denied(username: str, suffix: tuple[str, ...]) -> None:
    assume(len(username) != 32 or username != username.lower())
    assert not authorize(username, username, "publish", device_topic(username, *suffix)).allowed


def test_exact_allowed_set() -> None:
    me = "0" * 32
    allowed = {
        (a, t)
        for a in ("publish", "subscribe")
        for t in [device_topic(me, *s) for s in PUBLISH + SUBSCRIBE]
        if authorize(me, me, a, t).allowed
    }
    assert allowed == {("publish", device_topic(me, *s)) for s in PUBLISH} | {
        ("subscribe", device_topic(me, *s)) for s in SUBSCRIBE
    }
    for topic in ("opticworks/" + me, "opticworks/" + me + "/", device_topic(me, "state", "")):
        assert not authorize(me, me, "publish", topic).allowed
    assert not authorize(me, me, "connect", device_topic(me, "state")).allowed
