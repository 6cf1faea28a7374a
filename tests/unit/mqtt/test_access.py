import asyncio
import json

from rs1contract.topics import device_topic

from rs1.devices.enrollment import EnrollItem, enroll
from rs1.identity.keys import hour_of, mqtt_password
from rs1.mqtt import auth_limits
from rs1.mqtt.access import authenticate, authorize_request
from rs1.mqtt.webhook_models import AclRequest, AuthRequest


def enrolled(services, mac: str = "AA:BB:CC:00:00:01") -> tuple[str, str]:
    result = asyncio.run(
        enroll(services.db, services.settings.device_master_key, [EnrollItem(mac)], False)
    )
    device = result.enrolled[0]
    return device["device_id"], device["device_secret"]


def auth(services, device_id: str, password: str, peer: str = "10.0.0.1", clientid=None) -> bool:
    body = AuthRequest(
        username=device_id, password=password, clientid=clientid or device_id, peerhost=peer
    )
    return asyncio.run(authenticate(body, services))


def security_events(services, event_type: str) -> list[dict]:
    rows = asyncio.run(
        services.db.all("SELECT * FROM security_log WHERE event_type = ?", event_type)
    )
    return [{**r, "details": json.loads(r["details"])} for r in rows]


def test_correct_password_is_allowed_for_this_and_the_previous_hour(services) -> None:
    device_id, secret = enrolled(services)
    hour = hour_of(services.clock())
    assert auth(services, device_id, mqtt_password(secret, device_id, hour))
    assert auth(services, device_id, mqtt_password(secret, device_id, hour - 1))
    assert not auth(services, device_id, mqtt_password(secret, device_id, hour - 2))


def test_client_id_other_than_the_device_is_denied(services) -> None:
    device_id, secret = enrolled(services)
    password = mqtt_password(secret, device_id, hour_of(services.clock()))
    assert not auth(services, device_id, password, clientid="f" * 32)


def test_revoked_and_unknown_devices_are_denied(services) -> None:
    device_id, secret = enrolled(services)
    password = mqtt_password(secret, device_id, hour_of(services.clock()))
    asyncio.run(services.db.run("UPDATE devices SET status = 'revoked'"))
    assert not auth(services, device_id, password)
    assert not auth(services, "c" * 32, password)


def test_repeated_failures_are_logged_once_per_window(services) -> None:
    device_id, secret = enrolled(services)
    for _ in range(auth_limits.THRESHOLD + 3):
        assert not auth(services, device_id, "0" * 64, peer="203.0.113.9")
    events = security_events(services, "auth_failure_repeated")
    assert len(events) == 1 and events[0]["ip"] == "203.0.113.9"
    assert events[0]["details"]["failures"] == auth_limits.THRESHOLD + 1
    # A healthy device behind the same address is not locked out.
    good = mqtt_password(secret, device_id, hour_of(services.clock()))
    assert auth(services, device_id, good, peer="203.0.113.9")
    # A new window counts afresh and logs again when it passes the threshold.
    services.clock.now += auth_limits.WINDOW_S
    for _ in range(auth_limits.THRESHOLD + 1):
        assert not auth(services, device_id, "0" * 64, peer="203.0.113.9")
    assert len(security_events(services, "auth_failure_repeated")) == 2


def test_acl_allows_own_topics_and_logs_violations(services) -> None:
    device_id, _ = enrolled(services)
    ok = AclRequest(
        username=device_id,
        clientid=device_id,
        action="publish",
        topic=device_topic(device_id, "state"),
    )
    assert asyncio.run(authorize_request(ok, services)).allowed
    bad = ok.model_copy(update={"topic": device_topic("e" * 32, "state")})
    assert not asyncio.run(authorize_request(bad, services)).allowed
    (event,) = security_events(services, "acl_violation")
    assert event["details"]["reason"] == "another device's topic"


def test_acl_denies_a_revoked_device_its_own_topics(services) -> None:
    device_id, _ = enrolled(services)
    asyncio.run(services.db.run("UPDATE devices SET status = 'revoked'"))
    req = AclRequest(
        username=device_id,
        clientid=device_id,
        action="subscribe",
        topic=device_topic(device_id, "ota", "trigger"),
    )
    assert not asyncio.run(authorize_request(req, services)).allowed


def test_templated_string_values_are_coerced() -> None:
    req = AclRequest.model_validate({"qos": "1", "retain": "false", "action": "publish"})
    assert req.qos == 1 and req.retain is False
