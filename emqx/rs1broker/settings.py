"""What the local broker takes from emqx.conf: authn, authz, connectors/actions, rules, API keys.

Only the parts of EMQX's schema that emqx.conf uses are supported; an authenticator, authz
source or rule of another kind stops the start-up with a ConfigError instead of being
silently skipped (a skipped authz source would change who may publish).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rs1broker.bytesize import size_bytes
from rs1broker.config_file import ConfigError, read_config
from rs1broker.durations import seconds
from rs1broker.rule_sql import UnsupportedSql, rule_source

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "emqx.conf"
# EMQX's HTTP connector makes up to 3 attempts per request and never reads the action's
# parameters.max_retries (emqx_bridge_http_connector.erl on_query_async: max_attempts, 3).
EMQX_HTTP_ATTEMPTS = 3
# resource_opts defaults: apps/emqx_resource/include/emqx_resource.hrl (e5.10.4) :131-151.
DEFAULT_REQUEST_TTL = 45.0
DEFAULT_WORKER_POOL_SIZE = 16
DEFAULT_INFLIGHT_WINDOW = 100
DEFAULT_MAX_BUFFER_BYTES = 256 * 1024 * 1024
DEFAULT_HEALTH_CHECK_INTERVAL = 15.0
DEFAULT_REORDER_SEED = 1  # rs1-only: deliveries are shuffled unless reorder_seed is None


@dataclass(frozen=True)
class HttpEndpoint:
    """An HTTP request template (authn or authz): placeholders filled per call."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    connect_timeout: float = 15.0
    request_timeout: float = 5.0


@dataclass(frozen=True)
class AuthzSettings:
    sources: tuple[HttpEndpoint, ...] = ()
    no_match: str = "allow"  # EMQX's default; emqx.conf says deny
    deny_action: str = "ignore"
    cache_enabled: bool = True
    cache_max_size: int = 32
    cache_ttl: float = 60.0


DEFAULT_POOL_SIZE = 8  # emqx_bridge_http_connector.erl fields(config) pool_size


@dataclass(frozen=True)
class ActionSpec:
    """An HTTP action bound to its connector: where and how a rule output is sent."""

    name: str  # "http:NAME", as rules reference it
    method: str
    url: str
    headers: dict[str, str]
    body_template: str | None  # None: the whole rule output as JSON
    attempts: int = EMQX_HTTP_ATTEMPTS
    connect_timeout: float = 15.0
    # The connector's pool: its actions share `pool_size` HTTP/1.1 connections, each carrying
    # pipelined requests the server answers in order, so at most pool_size requests are
    # served at a time (emqx_bridge_http_connector: pool_size 8, enable_pipelining 100).
    connector: str = ""
    pool_size: int = DEFAULT_POOL_SIZE
    # resource_opts (emqx_resource_schema.erl); request_ttl is also each attempt's timeout.
    request_ttl: float = DEFAULT_REQUEST_TTL
    worker_pool_size: int = DEFAULT_WORKER_POOL_SIZE
    inflight_window: int = DEFAULT_INFLIGHT_WINDOW
    max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES
    health_check_interval: float = DEFAULT_HEALTH_CHECK_INTERVAL
    # EMQX's hidden resume_interval; not read from emqx.conf (tests set it directly).
    resume_interval: float | None = None

    @property
    def retry_interval(self) -> float:
        """How often a blocked buffer worker retries: resume_interval, by default
        max(1ms, min(health_check_interval, request_ttl / 3)) (buffer_worker.erl:2526-2529)."""
        if self.resume_interval is not None:
            return self.resume_interval
        return max(0.001, min(self.health_check_interval, self.request_ttl / 3))


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    source: str  # a topic filter or "$events/client_connected" / "$events/client_disconnected"
    actions: tuple[str, ...]


@dataclass(frozen=True)
class BrokerSettings:
    node_name: str = "emqx@127.0.0.1"
    authn: tuple[HttpEndpoint, ...] = ()
    authz: AuthzSettings = field(default_factory=AuthzSettings)
    actions: dict[str, ActionSpec] = field(default_factory=dict)
    rules: tuple[RuleSpec, ...] = ()
    api_key_file: Path | None = None
    # rs1-only (not in emqx.conf): the seed of the deliberate delivery shuffle (None: off)
    # and the ledger tap's file (None: off); see emqx/README.md.
    reorder_seed: int | None = DEFAULT_REORDER_SEED
    ledger_file: Path | None = None


def load_settings(
    path: Path = DEFAULT_CONFIG, env: Mapping[str, str] | None = None
) -> BrokerSettings:
    return settings_from_config(read_config(path, env))


def settings_from_config(conf: dict[str, Any]) -> BrokerSettings:
    connectors = conf.get("connectors", {}).get("http", {})
    actions = _actions(conf.get("actions", {}).get("http", {}), connectors)
    bootstrap = conf.get("api_key", {}).get("bootstrap_file")
    return BrokerSettings(
        node_name=str(conf.get("node", {}).get("name", "emqx@127.0.0.1")),
        authn=tuple(_authenticator(a) for a in conf.get("authentication", []) if _enabled(a)),
        authz=_authz(conf.get("authorization", {})),
        actions=actions,
        rules=_rules(conf.get("rule_engine", {}).get("rules", {}), actions),
        api_key_file=Path(bootstrap) if bootstrap else None,
    )


def _enabled(item: dict[str, Any]) -> bool:
    return item.get("enable", True) is not False


def _duration(item: dict[str, Any], key: str, default: float) -> float:
    try:
        return seconds(item.get(key), default)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _endpoint(item: dict[str, Any], default_timeout: float) -> HttpEndpoint:
    method = str(item.get("method", "post")).lower()
    headers = {str(k): str(v) for k, v in item.get("headers", {}).items()}
    if method == "post" and not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"  # EMQX adds it for POST
    return HttpEndpoint(
        method=method,
        url=str(item["url"]),
        headers=headers,
        body=dict(item.get("body", {})),
        connect_timeout=_duration(item, "connect_timeout", 15.0),
        request_timeout=_duration(item, "request_timeout", default_timeout),
    )


def _authenticator(item: dict[str, Any]) -> HttpEndpoint:
    kind = (item.get("mechanism"), item.get("backend"))
    if kind != ("password_based", "http"):
        raise ConfigError(f"unsupported authenticator {kind}: only password_based + http")
    return _endpoint(item, 5.0)


def _authz(section: dict[str, Any]) -> AuthzSettings:
    sources = []
    for source in section.get("sources", []):
        if not _enabled(source):
            continue
        if source.get("type") != "http":
            raise ConfigError(f"unsupported authorization source {source.get('type')!r}")
        sources.append(_endpoint(source, 30.0))
    cache = section.get("cache", {})
    return AuthzSettings(
        sources=tuple(sources),
        no_match=str(section.get("no_match", "allow")),
        deny_action=str(section.get("deny_action", "ignore")),
        cache_enabled=cache.get("enable", True) is not False,
        cache_max_size=int(cache.get("max_size", 32)),
        cache_ttl=_duration(cache, "ttl", 60.0),
    )


def _actions(
    section: dict[str, Any], connectors: dict[str, dict[str, Any]]
) -> dict[str, ActionSpec]:
    specs = {}
    for name, action in section.items():
        if not _enabled(action):
            continue
        connector = connectors.get(action.get("connector", ""))
        if connector is None or not _enabled(connector):
            raise ConfigError(f"action {name}: no enabled connector {action.get('connector')!r}")
        specs[f"http:{name}"] = _action(f"http:{name}", action, connector)
    return specs


def _action(name: str, action: dict[str, Any], connector: dict[str, Any]) -> ActionSpec:
    params = action.get("parameters", {})
    headers = {str(k): str(v) for k, v in connector.get("headers", {}).items()}
    headers.update({str(k): str(v) for k, v in params.get("headers", {}).items()})
    body = params.get("body")
    opts = action.get("resource_opts", {})
    return ActionSpec(
        name=name,
        method=str(params.get("method", "post")).lower(),
        url=str(connector["url"]).rstrip("/") + str(params.get("path", "")),
        headers=headers,
        body_template=str(body) if body else None,
        connect_timeout=_duration(connector, "connect_timeout", 15.0),
        connector=str(action.get("connector", "")),
        pool_size=int(connector.get("pool_size", DEFAULT_POOL_SIZE)),
        request_ttl=_duration(opts, "request_ttl", DEFAULT_REQUEST_TTL),
        worker_pool_size=int(opts.get("worker_pool_size", DEFAULT_WORKER_POOL_SIZE)),
        inflight_window=int(opts.get("inflight_window", DEFAULT_INFLIGHT_WINDOW)),
        max_buffer_bytes=_size(opts, "max_buffer_bytes", DEFAULT_MAX_BUFFER_BYTES),
        health_check_interval=_duration(
            opts, "health_check_interval", DEFAULT_HEALTH_CHECK_INTERVAL
        ),
    )


def _size(item: dict[str, Any], key: str, default: int) -> int:
    try:
        return size_bytes(item.get(key), default)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _rules(section: dict[str, Any], actions: dict[str, ActionSpec]) -> tuple[RuleSpec, ...]:
    rules = []
    for rule_id, rule in section.items():
        if not _enabled(rule):
            continue
        try:
            source = rule_source(str(rule.get("sql", "")))
        except UnsupportedSql as exc:
            raise ConfigError(f"rule {rule_id}: {exc}") from None
        names = tuple(str(a) for a in rule.get("actions", []))
        missing = [a for a in names if a not in actions]
        if missing:
            raise ConfigError(f"rule {rule_id}: unknown or unsupported actions {missing}")
        rules.append(RuleSpec(rule_id, source, names))
    return tuple(rules)
