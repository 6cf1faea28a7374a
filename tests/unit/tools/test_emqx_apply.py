import json

import pytest

from helpers import ROOT
from rs1tools.emqx_apply import calls, load_config, main


def test_plan_covers_every_object_in_the_config(monkeypatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret-value")
    planned = list(calls(load_config(ROOT / "emqx" / "emqx.conf")))
    paths = [(c.method, c.path) for c in planned]
    assert paths.count(("POST", "/api/v5/rules")) == 6
    assert paths.count(("POST", "/api/v5/actions")) == 6
    assert ("PUT", "/api/v5/authorization/settings") in paths
    settings = next(c.body for c in planned if c.path == "/api/v5/authorization/settings")
    assert settings["no_match"] == "deny" and settings["cache"]["ttl"] == "60s"
    rules = {c.body["id"]: c.body["sql"] for c in planned if c.path == "/api/v5/rules"}
    assert rules["rs1_device_offline"] == 'SELECT * FROM "$events/client_disconnected"'
    assert not any("$SYS" in sql for sql in rules.values())


def test_dry_run_masks_secrets(monkeypatch, capsys) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret-value")
    assert main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-value" not in out
    assert all(json.loads(line)["path"].startswith("/api/v5/") for line in out.splitlines())


def test_the_plan_carries_the_rendered_secret_and_webhook_tls(monkeypatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", 'quote" and \\ backslash')
    planned = list(calls(load_config(ROOT / "emqx" / "emqx.conf")))
    webhook_calls = [c.body for c in planned if "headers" in c.body]
    assert len(webhook_calls) == 3  # authn, authz source, connector
    for body in webhook_calls:
        assert body["headers"]["X-Webhook-Secret"] == 'quote" and \\ backslash'
        assert body["ssl"]["verify"] == "verify_peer" and body["ssl"]["cacertfile"]
    actions = [c.body for c in planned if c.path == "/api/v5/actions"]
    assert not any("max_retries" in a["parameters"] for a in actions)  # EMQX never reads it


def test_a_real_run_needs_the_secret(monkeypatch) -> None:
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit, match="WEBHOOK_SECRET must be set"):
        load_config(ROOT / "emqx" / "emqx.conf")
