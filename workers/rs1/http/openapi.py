"""OpenAPI 3.1 from the routes and their pydantic models: one definition, no hand-kept YAML.

A route documents itself with an `Operation` (router.add(..., doc=Operation(...))); its auth
and request body come from what the route declares (and the router enforces), responses from
the pydantic models the handlers answer in. Every operation
also answers the one error shape (`Error`) for any 4xx/5xx, which is `default` here.
"""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from rs1.http.operation import Operation
from rs1.http.router import Route, Router
from rs1.http.scopes import ANY_KEY

REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"\{(\w+)\}")
STRING = {"type": "string"}


class Error(BaseModel):
    """The one error shape every Worker answers with."""

    model_config = ConfigDict(extra="forbid")
    error: str
    message: str
    request_id: str | None
    timestamp: str
    details: Any = None


class _Schemas:
    """Every (model, mode) the operations use, rendered together by pydantic so that nested
    models are shared and same-named or mode-dependent schemas get distinct names."""

    def __init__(self, router: Router) -> None:
        pairs: set[tuple[type[BaseModel], JsonSchemaMode]] = {(Error, "serialization")}
        for route in router.routes:
            op = route.doc
            if op is not None and op.response is not None:
                pairs.add((op.response, "serialization"))
            if op is not None and route.body is not None:
                pairs.add((route.body.model, "validation"))
        ordered = sorted(pairs, key=lambda p: (p[0].__name__, p[1]))
        refs, defs = models_json_schema(ordered, ref_template=REF)
        self.refs = refs
        self.components = defs.get("$defs", {})

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return self.refs[(model, mode)]


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _success(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        answer["content"] = _content(schemas.ref(op.response, "serialization"))
    responses = {str(op.status): answer}
    for status, why in op.also.items():
        responses[str(status)] = {**answer, "description": why}
    return responses


def _parameters(template: str, op: Operation) -> list[dict[str, Any]]:
    params = [
        {"name": n, "in": "path", "required": True, "schema": op.path_schemas.get(n, STRING)}
        for n in _PARAM.findall(template)
    ]
    for p in op.params:
        entry = {"name": p.name, "in": p.where, "required": p.required, "schema": p.schema}
        params.append({**entry, "description": p.description})
    return params


def _operation(route: Route, op: Operation, schemas: _Schemas) -> dict[str, Any]:
    method, template = route.method, route.template
    error = {"description": "Error", "content": _content(schemas.ref(Error, "serialization"))}
    slug = re.sub(r"[^a-z0-9]+", "_", template.lower()).strip("_")
    out: dict[str, Any] = {
        "operationId": f"{method.lower()}_{slug}",
        "summary": op.summary,
        **({"description": op.description} if op.description else {}),
        "tags": [op.tag],
        "parameters": _parameters(template, op),
        "responses": {**_success(op, schemas), "default": error},
    }
    if route.auth == "none":
        out["security"] = []
    elif route.auth not in ("webhook", "device", "signed"):
        out["security"] = _security(route.scope)
    if route.body is not None:
        schema = schemas.ref(route.body.model, "validation")
        out["requestBody"] = {"required": True, "content": _content(schema)}
    elif op.binary_body:
        binary = {"type": "string", "contentMediaType": "application/octet-stream"}
        out["requestBody"] = {
            "required": True,
            "content": {"application/octet-stream": {"schema": binary}},
        }
    return out


def _security(scope: str | None) -> list[dict[str, list[str]]]:
    """Sessions always; an API key only with the route's scope (OpenAPI 3.1: a non-OAuth
    scheme's array lists the roles it needs). Routes without a scope are closed to keys."""
    sessions: list[dict[str, list[str]]] = [{"bearer": []}, {"access": []}]
    if scope is None:
        return sessions
    return [*sessions, {"apiKey": [] if scope == ANY_KEY else [scope]}]


def document(router: Router, title: str, version: str, description: str) -> dict[str, Any]:
    schemas = _Schemas(router)
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes:
        if route.doc is not None:
            op = _operation(route, route.doc, schemas)
            paths.setdefault(route.template, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "https://api.optic.works"}],
        "security": [{"bearer": []}, {"access": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "HS256 JWT (sub, role, exp, jti) whose session is live in "
                    "KV SESSIONS; admin calls need role admin.",
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "rs1_live_<key_id>_<secret>",
                    "description": "An integration API key (POST /admin/keys), limited to its "
                    "scopes: each operation lists the scope it needs. Rate limited per key.",
                },
                "access": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Cf-Access-Jwt-Assertion",
                    "description": "Cloudflare Access (when configured): the RS256 JWT Access "
                    "adds; a user named by e-mail. Used only without an Authorization header.",
                },
            },
        },
    }
