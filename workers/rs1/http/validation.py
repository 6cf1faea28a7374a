"""Request bodies validated with pydantic, failing as a clear 4xx with the offending paths."""

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


def parse_body(model: type[M], request: ApiRequest, status: int = 400) -> M:
    data = request.json()
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        first = details[0]
        message = f"Invalid request body at '{first['path']}': {first['message']}."
        raise ApiError(status, "invalid_request", message, details=details) from None
