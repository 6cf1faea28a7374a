"""Browser-facing response policy for the device API: security headers and CORS for the zone
editor at https://app.optic.works (spec), with preflight answered before routing."""

from rs1.messages import ApiRequest, ApiResponse, empty_response

ALLOWED_ORIGINS = frozenset({"https://app.optic.works"})
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
}
CORS_METHODS = "GET, PUT, PATCH, POST, DELETE, OPTIONS"
CORS_HEADERS = "authorization, content-type, if-match, x-request-id"
CORS_EXPOSE = (
    "etag, x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset"
)


def _cors(request: ApiRequest) -> dict[str, str]:
    origin = request.header("origin")
    if origin not in ALLOWED_ORIGINS:
        return {}
    return {
        "access-control-allow-origin": origin,
        "access-control-expose-headers": CORS_EXPOSE,
        "vary": "Origin",
    }


async def preflight(request: ApiRequest, _svc: object) -> ApiResponse | None:
    if request.method != "OPTIONS":
        return None
    headers = {
        **_cors(request),
        "access-control-allow-methods": CORS_METHODS,
        "access-control-allow-headers": CORS_HEADERS,
        "access-control-max-age": "3600",
    }
    return empty_response(204, headers if _cors(request) else {})


def decorate(request: ApiRequest, response: ApiResponse) -> None:
    for name, value in {**SECURITY_HEADERS, **_cors(request)}.items():
        response.headers.setdefault(name, value)
