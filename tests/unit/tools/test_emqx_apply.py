import json

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
