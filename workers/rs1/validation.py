"""Untrusted JSON validated with pydantic, failing as a domain error naming the offending paths.

Domain-level (no HTTP): a failure is an `InvalidInput` (or the kind the caller names, e.g.
`Unprocessable`) carrying the caller's error code and the per-path details.
"""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rs1.errors import DomainError, InvalidInput

M = TypeVar("M", bound=BaseModel)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"path": ".".join(str(p) for p in _loc(err)), "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def _loc(err: Any) -> list[Any]:
    """The error's location, narrowed to the item a validator named in its context (a zone's
    `vertex`, a list's `zone`), so a client can point at it."""
    ctx, loc = err.get("ctx") or {}, list(err["loc"])
    if isinstance(ctx.get("vertex"), int):
        return [*loc, ctx["vertex"]]
    if isinstance(ctx.get("zone"), int):
        return [*loc, ctx["zone"], "name"]
    return loc


def validate(
    model: type[M],
    data: Any,
    code: str,
    where: str,
    kind: type[DomainError] = InvalidInput,
) -> M:
    """A JSON object validated with `model`; a `kind` error naming the first offending path."""
    if not isinstance(data, dict):
        raise kind(f"The {where} must be a JSON object.", code=code)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        first = details[0]
        message = f"Invalid {where} at '{first['path']}': {first['message']}."
        raise kind(message, code=code, details=details) from None


def json_object(text: str | bytes, code: str, where: str) -> dict[str, Any]:
    """Parse text that must hold a JSON object (e.g. an MQTT payload inside an envelope)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"The {where} is not JSON: {exc}.", code=code) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"The {where} must be a JSON object.", code=code)
    return data
