"""Request bodies validated with pydantic, failing as a clear 4xx with the offending paths."""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest

M = TypeVar("M", bound=BaseModel)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"path": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def validate(model: type[M], data: Any, code: str, where: str, status: int = 400) -> M:
    """A JSON object validated with `model`; a clear 4xx naming the first offending path."""
    if not isinstance(data, dict):
        raise ApiError(status, code, f"The {where} must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        first = details[0]
        message = f"Invalid {where} at '{first['path']}': {first['message']}."
        raise ApiError(status, code, message, details=details) from None


def json_object(text: str | bytes, code: str, where: str) -> dict[str, Any]:
    """Parse text that must hold a JSON object (e.g. an MQTT payload inside an envelope)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, code, f"The {where} is not JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, code, f"The {where} must be a JSON object.")
    return data


def parse_body(model: type[M], request: ApiRequest, status: int = 400) -> M:
    return validate(model, request.json(), "invalid_request", "request body", status)
