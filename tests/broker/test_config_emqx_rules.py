"""emqx/emqx.conf read by EMQX 5's rules, and the render that puts the secrets in.

EMQX's HOCON never substitutes environment variables and refuses unknown keys; the render
fills only the named secret markers, quoted so EMQX's scanner reads the exact value back.
"""

import re
import stat
from pathlib import Path

import pytest
from broker.constants import CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhocon import ConfigFactory
from rs1broker import ConfigError
from rs1broker.config_file import (
    SECRET_NAMES,
    _leaves,
    load_rendered,
    parse_text,
    read_config,
    render,
)
from rs1broker.emqx_keys import KEYS
from rs1broker.render import main as render_main

TEXT = CONFIG.read_text()
SECRETS = {"WEBHOOK_SECRET": "w", "EMQX_NODE_COOKIE": "c", "EMQX_DASHBOARD_PASSWORD": "d"}
TLS_CLIENTS = ("authentication[0]", "authorization.sources[0]", "connectors.http.rs1_webhooks")


def _get(conf: dict, dotted: str) -> object:
    value: object = conf
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]  # type: ignore[index]
    return value


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_the_shipped_file_loads_strictly_rendered_or_not() -> None:
    raw = parse_text(TEXT, "emqx.conf")  # markers are plain strings until rendered
    assert raw["node"]["cookie"] == "${EMQX_NODE_COOKIE}"
    conf = load_rendered(TEXT, SECRETS, "emqx.conf")
    assert conf["node"]["cookie"] == "c"
    assert conf["dashboard"]["default_password"] == "d"
    for where in TLS_CLIENTS:
        assert _get(conf, f"{where}.headers")["X-Webhook-Secret"] == "w"  # type: ignore[index]


def test_listeners_are_tls_only() -> None:
    conf = parse_text(TEXT, "emqx.conf")
    listeners = conf["listeners"]
    assert [listeners[t]["default"]["enable"] for t in ("tcp", "ws", "wss")] == [False] * 3
    assert listeners["ssl"]["default"]["bind"] == "0.0.0.0:8883"
    dashboard = conf["dashboard"]["listeners"]
    assert dashboard["http"] == {"bind": 0}  # EMQX turns a dashboard listener off with bind 0
    assert dashboard["https"]["bind"] == "0.0.0.0:18083"  # the Workers' default EMQX_API_URL
    assert set(dashboard["https"]["ssl_options"]) >= {"certfile", "keyfile"}


@pytest.mark.parametrize("where", TLS_CLIENTS)
def test_webhook_calls_verify_the_server(where: str) -> None:
    ssl = _get(parse_text(TEXT, "emqx.conf"), f"{where}.ssl")
    assert ssl == {
        "enable": True,
        "verify": "verify_peer",
        "cacertfile": "/etc/ssl/certs/ca-certificates.crt",
        "server_name_indication": "api.optic.works",
        "versions": ["tlsv1.3", "tlsv1.2"],
    }


def test_no_action_sets_max_retries() -> None:
    actions = parse_text(TEXT, "emqx.conf")["actions"]["http"]
    assert actions and not any("max_retries" in a["parameters"] for a in actions.values())


@pytest.mark.parametrize("substitution", ["${WEBHOOK_SECRET}", "${?WEBHOOK_SECRET}"])
def test_an_environment_substitution_is_refused_naming_its_line(
    substitution: str, tmp_path: Path
) -> None:
    text = TEXT.replace('"${EMQX_NODE_COOKIE}"', substitution)
    path = tmp_path / "emqx.conf"
    path.write_text(text)
    line = _line_of(text, substitution)
    with pytest.raises(ConfigError, match=rf"emqx.conf:{line}: \$\{{\??WEBHOOK_SECRET\}}"):
        read_config(path, {"WEBHOOK_SECRET": "set-but-never-substituted"})


def test_a_substitution_of_another_config_path_is_allowed() -> None:
    conf = parse_text('node.name = "n"\nnode.data_dir = ${node.name}\n', "t.conf")
    assert conf["node"]["data_dir"] == "n"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            'path = "/webhook/telemetry"',
            'path = "/webhook/telemetry", max_retries = 2',
            "actions.http.rs1_telemetry.parameters.max_retries",
        ),
        ("no_match = deny", "no_match = deny\n  nomatch = deny", "authorization.nomatch"),
        ("listeners.ws.default.enable", "listeners.ws.default.enabel", "ws.default.enabel"),
    ],
)
def test_an_unknown_key_is_refused(old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        parse_text(TEXT.replace(old, new, 1), "emqx.conf")


def test_every_key_in_the_table_is_used_and_sourced() -> None:
    keys = [key for key, _ in _leaves(parse_text(TEXT, "emqx.conf"))]

    def used(pattern: str) -> bool:
        regex = re.escape(pattern).replace(r"\*", r"[^.]+")
        return any(re.fullmatch(regex, key) for key in keys)

    assert [p for p in KEYS if not used(p)] == []
    assert all(source.startswith("apps/") and ".erl " in source for source in KEYS.values())


# ---- the render ----

# EMQX's scanner for a quoted string (emqx/hocon 0.45.3 hocon_scanner.xrl: String, Char, and
# unesc/1, which decodes \\ \" \n \t \r \b \f and nothing else). leex takes the longest match.
EMQX_STRING = re.compile(r'"(?:[^"\n\r\u2028\u2029]|\\["\\bfnrt]|\\u[0-9A-Fa-f]{4})*"')
EMQX_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def emqx_reads(line: str) -> tuple[str, str]:
    """(the value of the line's last `= "..."` string as EMQX reads it, what follows it)."""
    start = line.index('= "') + 2
    ends = [j + 1 for j in range(start + 1, len(line)) if EMQX_STRING.fullmatch(line, start, j + 1)]
    raw, rest = line[start + 1 : max(ends) - 1], line[max(ends) :]
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "\\" and raw[i + 1 : i + 2] in EMQX_ESCAPES:
            out.append(EMQX_ESCAPES[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out), rest


# Values that need quoting: quotes, backslashes (also last), HOCON punctuation, comment
# starters, `$`, spaces, non-ASCII. Not `${` or control characters: the render refuses them.
secret_values = st.text(
    st.one_of(
        st.sampled_from("\"\\#/${}[]:=,+?!@*&`^ '"),
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: "${" not in s)
PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def placeholders(text: str) -> list[str]:
    """EMQX's own placeholders: lower case (upper case are secret markers, or prose)."""
    return [p for p in PLACEHOLDER.findall(text) if not p[2:-1].isupper()]


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({name: secret_values for name in SECRET_NAMES}))
def test_the_render_quotes_each_secret_and_leaves_placeholders(secrets: dict[str, str]) -> None:
    rendered = render(TEXT, secrets)
    before, after = TEXT.split("\n"), rendered.split("\n")
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 5  # cookie, dashboard password, 3 × X-Webhook-Secret
    names = [re.search(r'"\$\{([A-Z_]+)\}"', old)[1] for old, _ in changed]  # type: ignore[index]
    for name, (_, new) in zip(names, changed, strict=True):
        value, rest = emqx_reads(new)
        assert (value, rest.strip()) == (secrets[name], "")  # EMQX reads it back, exactly
    # ... and so does pyhocon, the local broker's parser (one document: it parses slowly).
    quoted = "\n".join(f"k{i} = {new[new.index('= ') + 2 :]}" for i, (_, new) in enumerate(changed))
    assert list(ConfigFactory.parse_string(quoted).values()) == [secrets[n] for n in names]
    # Every other line is as written, so each EMQX placeholder ("${clientid}", ...) survives.
    assert placeholders(TEXT) and placeholders(rendered) == placeholders(TEXT)
    assert not any(f'"${{{name}}}"' in rendered for name in SECRET_NAMES)


def test_the_rendered_file_carries_awkward_secrets_to_the_broker() -> None:
    secret = 'a"b\\ #c$ {d} //é "x" = \\'  # quotes, comment starters, a final backslash
    conf = read_config(CONFIG, {"WEBHOOK_SECRET": secret})
    assert conf["authentication"][0]["headers"]["X-Webhook-Secret"] == secret
    assert conf["authentication"][0]["body"]["clientid"] == "${clientid}"


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({**SECRETS, "WEBHOOK_SECRET": ""}, "WEBHOOK_SECRET must be set"),
        ({**SECRETS, "EMQX_NODE_COOKIE": "a${clientid}"}, "must not contain"),
        ({**SECRETS, "EMQX_DASHBOARD_PASSWORD": "line\nbreak"}, "control or line-break"),
        ({**SECRETS, "WEBHOOK_SECRET": "tab\there"}, "control or line-break"),
    ],
)
def test_the_render_refuses_a_missing_or_unwritable_secret(
    secrets: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        render(TEXT, secrets)


def test_the_render_refuses_an_unknown_or_unreachable_marker() -> None:
    typo = TEXT.replace('"${EMQX_NODE_COOKIE}"', '"${EMQX_NODE_COOKEI}"')
    with pytest.raises(ConfigError, match=rf"emqx.conf:{_line_of(typo, 'COOKEI')}: .*COOKEI"):
        render(typo, SECRETS, "emqx.conf")
    inline = TEXT.replace('path = "/webhook/telemetry"', 'path = "/${WEBHOOK_SECRET}"')
    with pytest.raises(ConfigError, match=r"rs1_telemetry.parameters.path holds \$\{WEBHOOK"):
        load_rendered(inline, SECRETS, "emqx.conf")


def test_the_render_command_writes_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "etc" / "emqx.conf"
    assert render_main(["--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == render(TEXT, SECRETS)
    monkeypatch.delenv("EMQX_DASHBOARD_PASSWORD")
    out.unlink()
    assert render_main(["--out", str(out)]) == 2
    assert "EMQX_DASHBOARD_PASSWORD must be set" in capsys.readouterr().err
    assert not out.exists()
