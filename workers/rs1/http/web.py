"""Browser-facing response policy for the device API: security headers and CORS for the web
console at https://app.optic.works (spec; WEB_ORIGINS, rs1.settings), with preflight answered
before routing. Credentials are allowed: behind Cloudflare Access the console signs in by
Access's cookie, which a cross-origin fetch sends only with `credentials: "include"`."""

from rs1.messages import ApiRequest, ApiResponse, empty_response
from rs1.services import Services

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


def _cors(request: ApiRequest, svc: Services) -> dict[str, str]:
    origin = request.header("origin")
    if origin not in svc.settings.web_origins:
        return {}
    return {
        "access-control-allow-origin": origin,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": CORS_EXPOSE,
        "vary": "Origin",
    }


async def preflight(request: ApiRequest, svc: Services) -> ApiResponse | None:
    if request.method != "OPTIONS":
        return None
    cors = _cors(request, svc)
    headers = {
        **cors,
        "access-control-allow-methods": CORS_METHODS,
        "access-control-allow-headers": CORS_HEADERS,
        "access-control-max-age": "3600",
    }
    return empty_response(204, headers if cors else {})


def decorate(request: ApiRequest, response: ApiResponse, svc: Services) -> None:
    for name, value in {**SECURITY_HEADERS, **_cors(request, svc)}.items():
        response.headers.setdefault(name, value)
