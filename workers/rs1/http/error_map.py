"""The one place a domain error becomes an HTTP answer (status, code, headers)."""

from rs1 import errors
from rs1.http.errors import ApiError

CHALLENGE = {"www-authenticate": 'Bearer realm="rs1"'}

STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.PreconditionRequired: 428,
    errors.RangeNotSatisfiable: 416,
    errors.Unavailable: 503,
}


def status_of(exc: errors.DomainError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def _headers(exc: errors.DomainError) -> dict[str, str]:
    if isinstance(exc, errors.BearerRequired):
        return dict(CHALLENGE)
    if isinstance(exc, errors.RangeNotSatisfiable):
        return {"content-range": f"bytes */{exc.size}"}
    return {}


def to_api_error(exc: errors.DomainError) -> ApiError:
    return ApiError(
        status_of(exc), exc.code, exc.message, headers=_headers(exc), details=exc.details
    )
