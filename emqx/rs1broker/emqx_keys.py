"""Every emqx.conf key we use, with where EMQX 5 defines it.

EMQX refuses a config with a key its schema does not have (hocon_tconf: unknown_fields),
so a key outside this table would pass locally and stop production: the local broker
refuses it instead. Sources are paths in github.com/emqx/emqx at tag e5.10.4 (v5.8.9 is
the same), as `file function/field`. In a key, `*` is a name we choose (listener, header,
body field, connector, action or rule) and `[]` an array element.

Add a key only after finding it in EMQX's schema, and name where.
"""

SCHEMA = "apps/emqx/src/emqx_schema.erl"
CONF = "apps/emqx_conf/src/emqx_conf_schema.erl"
DASHBOARD = "apps/emqx_dashboard/src/emqx_dashboard_schema.erl"
AUTHN = "apps/emqx_auth_http/src/emqx_authn_http_schema.erl"
AUTHN_COMMON = "apps/emqx_auth/src/emqx_authn/emqx_authn_schema.erl"
AUTHZ = "apps/emqx_auth/src/emqx_authz/emqx_authz_schema.erl"
AUTHZ_HTTP = "apps/emqx_auth_http/src/emqx_authz_http_schema.erl"
HTTP_CONNECTOR = "apps/emqx_bridge_http/src/emqx_bridge_http_connector.erl"
HTTP_BRIDGE = "apps/emqx_bridge_http/src/emqx_bridge_http_schema.erl"
RULES = "apps/emqx_rule_engine/src/emqx_rule_engine_schema.erl"
RESOURCE = "apps/emqx_resource/src/schema/emqx_resource_schema.erl"

# Server TLS options: emqx_schema server_ssl_opts_schema/2 -> common_ssl_opts_schema/2.
_SERVER_TLS = f"{SCHEMA} common_ssl_opts_schema"
# Client TLS (authn, authz, connector): emqx_connector_schema_lib:ssl_fields/0 ->
# emqx_schema fields("ssl_client_opts") -> client_ssl_opts_schema/1 + common_ssl_opts_schema/2.
_CLIENT_TLS = {
    "ssl.enable": f"{SCHEMA} client_ssl_opts_schema enable",
    "ssl.verify": f"{_SERVER_TLS} verify",
    "ssl.cacertfile": f"{_SERVER_TLS} cacertfile",
    "ssl.server_name_indication": f"{SCHEMA} client_ssl_opts_schema server_name_indication",
    "ssl.versions": f"{_SERVER_TLS} versions",
}


def _client_tls(prefix: str) -> dict[str, str]:
    return {f"{prefix}.{key}": source for key, source in _CLIENT_TLS.items()}


KEYS: dict[str, str] = {
    "node.name": f"{CONF} fields(node) name",
    "node.cookie": f"{CONF} fields(node) cookie",
    "node.data_dir": f"{CONF} fields(node) data_dir",
    # MQTT listeners: emqx_schema listeners/0 (a map of names per type) -> base_listener/1.
    "listeners.tcp.*.enable": f"{SCHEMA} base_listener enable",
    "listeners.ws.*.enable": f"{SCHEMA} base_listener enable",
    "listeners.wss.*.enable": f"{SCHEMA} base_listener enable",
    "listeners.ssl.*.bind": f"{SCHEMA} base_listener bind",
    "listeners.ssl.*.max_connections": f"{SCHEMA} base_listener max_connections",
    "listeners.ssl.*.ssl_options.cacertfile": f"{_SERVER_TLS} cacertfile",
    "listeners.ssl.*.ssl_options.certfile": f"{_SERVER_TLS} certfile",
    "listeners.ssl.*.ssl_options.keyfile": f"{_SERVER_TLS} keyfile",
    "listeners.ssl.*.ssl_options.verify": f"{_SERVER_TLS} verify",
    "listeners.ssl.*.ssl_options.versions": f"{_SERVER_TLS} versions",
    "listeners.ssl.*.ssl_options.ciphers": f"{_SERVER_TLS} ciphers",
    "api_key.bootstrap_file": (
        "apps/emqx_management/src/emqx_mgmt_api_key_schema.erl fields(api_key) bootstrap_file"
    ),
    "dashboard.default_password": f"{DASHBOARD} fields(dashboard) default_password",
    "dashboard.listeners.http.bind": f"{DASHBOARD} fields(http) bind",
    "dashboard.listeners.https.bind": f"{DASHBOARD} fields(https) bind",
    "dashboard.listeners.https.ssl_options.certfile": f"{_SERVER_TLS} certfile",
    "dashboard.listeners.https.ssl_options.keyfile": f"{_SERVER_TLS} keyfile",
    "dashboard.listeners.https.ssl_options.versions": f"{_SERVER_TLS} versions",
    # authentication: emqx_authn_schema global_auth_fields (an array of authenticators).
    "authentication[].mechanism": f"{AUTHN} common_fields mechanism",
    "authentication[].backend": f"{AUTHN} common_fields backend",
    "authentication[].enable": f"{AUTHN_COMMON} common_fields enable",
    "authentication[].method": f"{AUTHN} fields(http_post) method",
    "authentication[].url": f"{AUTHN} common_fields url",
    "authentication[].headers.*": f"{AUTHN} fields(http_post) headers",
    "authentication[].body.*": f"{AUTHN} common_fields body",
    "authentication[].request_timeout": f"{AUTHN} common_fields request_timeout",
    "authentication[].connect_timeout": f"{HTTP_CONNECTOR} fields(config) connect_timeout",
    "authentication[].pool_size": f"{HTTP_CONNECTOR} fields(config) pool_size",
    **_client_tls("authentication[]"),
    "authorization.no_match": f"{SCHEMA} authz_fields no_match",
    "authorization.deny_action": f"{SCHEMA} authz_fields deny_action",
    "authorization.cache.enable": f"{SCHEMA} fields(authz_cache) enable",
    "authorization.cache.max_size": f"{SCHEMA} fields(authz_cache) max_size",
    "authorization.cache.ttl": f"{SCHEMA} fields(authz_cache) ttl",
    # authorization.sources: emqx_authz_schema sources_fields (an array of sources).
    "authorization.sources[].type": f"{AUTHZ} authz_common_fields type",
    "authorization.sources[].enable": f"{AUTHZ} authz_common_fields enable",
    "authorization.sources[].method": f"{AUTHZ_HTTP} fields(http_post) method",
    "authorization.sources[].url": f"{AUTHZ_HTTP} http_common_fields url",
    "authorization.sources[].headers.*": f"{AUTHZ_HTTP} fields(http_post) headers",
    "authorization.sources[].body.*": f"{AUTHZ_HTTP} http_common_fields body",
    "authorization.sources[].request_timeout": f"{AUTHZ_HTTP} http_common_fields request_timeout",
    **_client_tls("authorization.sources[]"),
    # connectors.http.NAME: emqx_bridge_http_schema fields("config_connector").
    "connectors.http.*.enable": "apps/emqx_connector/src/schema/emqx_connector_schema.erl"
    " common_fields enable",
    "connectors.http.*.url": f"{HTTP_BRIDGE} url_field",
    "connectors.http.*.headers.*": f"{HTTP_BRIDGE} headers_field",
    "connectors.http.*.connect_timeout": f"{HTTP_CONNECTOR} fields(config) connect_timeout",
    "connectors.http.*.pool_size": f"{HTTP_CONNECTOR} fields(config) pool_size",
    **_client_tls("connectors.http.*"),
    # actions.http.NAME: emqx_bridge_http_schema fields("http_action"). parameters.max_retries
    # exists (max_retries_field) but EMQX never reads it: deliberately not in this table.
    "actions.http.*.connector": "apps/emqx_bridge/src/schema/emqx_bridge_v2_schema.erl"
    " common_fields connector",
    "actions.http.*.parameters.method": f"{HTTP_BRIDGE} fields(parameters_opts) method_field",
    "actions.http.*.parameters.path": f"{HTTP_BRIDGE} fields(parameters_opts) path",
    # resource_opts: emqx_bridge_http_schema fields(action_resource_opts) ->
    # emqx_bridge_v2_schema common_action_resource_opts_subfields -> emqx_resource_schema.
    **{
        f"actions.http.*.resource_opts.{key}": f"{RESOURCE} {key}"
        for key in (
            "request_ttl",
            "worker_pool_size",
            "inflight_window",
            "max_buffer_bytes",
            "health_check_interval",
        )
    },
    "rule_engine.ignore_sys_message": f"{RULES} rule_engine_settings ignore_sys_message",
    "rule_engine.rules.*.sql": f"{RULES} fields(rules) sql",
    "rule_engine.rules.*.actions": f"{RULES} fields(rules) actions",
}
