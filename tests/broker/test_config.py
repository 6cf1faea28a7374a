"""Rule 1: the broker reads emqx/emqx.conf itself, its secrets rendered from the environment
and the production webhook host mapped to RS1_WEBHOOK_BASE. (EMQX's parsing rules and the
render: test_config_emqx_rules.py.)"""

from pathlib import Path

import pytest
from broker.constants import CONFIG
from rs1broker import ConfigError, load_settings
from rs1broker.config_file import read_config
from rs1broker.durations import seconds
from rs1broker.settings import settings_from_config

ENV = {"WEBHOOK_SECRET": "s3cret", "RS1_WEBHOOK_BASE": "http://127.0.0.1:8789/"}


def test_the_production_file_drives_the_local_broker() -> None:
    settings = load_settings(CONFIG, ENV)
    (authn,) = settings.authn
    assert authn.url == "http://127.0.0.1:8789/webhook/mqtt-auth"
    assert authn.headers == {"content-type": "application/json", "X-Webhook-Secret": "s3cret"}
    assert authn.body == {
        "username": "${username}",
        "password": "${password}",
        "clientid": "${clientid}",
        "peerhost": "${peerhost}",
    }
    assert authn.request_timeout == 5.0
    authz = settings.authz
    assert (authz.no_match, authz.deny_action) == ("deny", "ignore")
    assert (authz.cache_enabled, authz.cache_max_size, authz.cache_ttl) == (True, 32, 60.0)
    assert authz.sources[0].url == "http://127.0.0.1:8789/webhook/mqtt-acl"
    assert settings.node_name == "emqx@127.0.0.1"
    assert settings.api_key_file == Path("/opt/emqx/etc/api_keys.txt")


def test_rules_and_actions() -> None:
    settings = load_settings(CONFIG, ENV)
    sources = {rule.rule_id: (rule.source, rule.actions) for rule in settings.rules}
    assert sources["rs1_telemetry_forward"] == ("opticworks/+/telemetry/#", ("http:rs1_telemetry",))
    assert sources["rs1_device_offline"] == (
        "$events/client_disconnected",
        ("http:rs1_device_offline",),
    )
    telemetry = settings.actions["http:rs1_telemetry"]
    assert telemetry.url == "http://127.0.0.1:8789/webhook/telemetry"
    assert telemetry.headers["X-Webhook-Secret"] == "s3cret"
    # 3 attempts whatever the config says: EMQX never reads parameters.max_retries.
    assert (telemetry.method, telemetry.attempts, telemetry.body_template) == ("post", 3, None)


def test_without_rs1_webhook_base_urls_stay_as_written() -> None:
    conf = read_config(CONFIG, {"WEBHOOK_SECRET": "x"})
    assert conf["authentication"][0]["url"] == "https://api.optic.works/webhook/mqtt-auth"


def test_production_only_secrets_get_local_defaults() -> None:
    conf = read_config(CONFIG, {"WEBHOOK_SECRET": "x"})
    assert conf["node"]["cookie"] == "rs1-local-cookie"
    assert conf["dashboard"]["default_password"] == "rs1-local-dashboard"
    conf = read_config(CONFIG, {"WEBHOOK_SECRET": "x", "EMQX_NODE_COOKIE": "c"})
    assert conf["node"]["cookie"] == "c"


def test_webhook_secret_must_come_from_the_environment() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_settings(CONFIG, {})


def test_unsupported_rule_sql_stops_the_start() -> None:
    conf = read_config(CONFIG, ENV)
    conf["rule_engine"]["rules"]["rs1_state_forward"]["sql"] = 'SELECT payload FROM "t/#"'
    with pytest.raises(ConfigError, match="rs1_state_forward"):
        settings_from_config(conf)


def test_unsupported_authz_source_stops_the_start() -> None:
    conf = read_config(CONFIG, ENV)
    conf["authorization"]["sources"].append({"type": "file", "path": "acl.conf"})
    with pytest.raises(ConfigError, match="authorization source"):
        settings_from_config(conf)


@pytest.mark.parametrize(
    ("value", "expected"), [("5s", 5.0), ("100ms", 0.1), ("1m", 60.0), ("2h", 7200.0), (250, 0.25)]
)
def test_durations(value: object, expected: float) -> None:
    assert seconds(value, 0) == expected
