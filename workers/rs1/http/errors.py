"""The one error shape every Worker answers with."""

from typing import Any

from rs1.timefmt import utc_now_iso


class ApiError(Exception):
    """An error that reaches the client as JSON `{"error","message","request_id","timestamp"}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details


def error_body(code: str, message: str, request_id: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": code,
        "message": message,
        "request_id": request_id,
        "timestamp": utc_now_iso(),
    }
    if details is not None:
        body["details"] = details
    return body
