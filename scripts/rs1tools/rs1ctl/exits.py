"""rs1ctl's exit codes and the one error type commands raise (the root group reports it)."""

from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    CONFLICT = 5
    INVALID = 6
    UNAVAILABLE = 7
    VERIFY = 8
    TIMEOUT = 9


MEANING = {
    Exit.OK: "ok",
    Exit.FAILURE: "generic failure (e.g. a rollout watched to its abort)",
    Exit.USAGE: "usage error (bad option or argument)",
    Exit.NOT_FOUND: "not found (HTTP 404)",
    Exit.AUTH: "not signed in or not allowed (HTTP 401/403)",
    Exit.CONFLICT: "conflict (HTTP 409)",
    Exit.INVALID: "invalid input (HTTP 400/413/422, refused enrolments)",
    Exit.UNAVAILABLE: "server error or unreachable (HTTP 5xx/429, transport)",
    Exit.VERIFY: "verification failed (firmware verify, audit verify)",
    Exit.TIMEOUT: "timed out waiting (devices diag, rollouts watch)",
}

EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{int(c)} {m}" for c, m in MEANING.items()) + "."

_BY_STATUS = {
    400: Exit.INVALID,
    401: Exit.AUTH,
    403: Exit.AUTH,
    404: Exit.NOT_FOUND,
    409: Exit.CONFLICT,
    413: Exit.INVALID,
    422: Exit.INVALID,
    429: Exit.UNAVAILABLE,  # rate limited: try again later, like a 503
}


def for_status(status: int) -> Exit:
    if status >= 500:
        return Exit.UNAVAILABLE
    return _BY_STATUS.get(status, Exit.FAILURE)


class CtlError(Exception):
    """A failure to report as the API's error JSON ({"error","message","request_id"})."""

    def __init__(
        self,
        exit_code: Exit,
        error: str,
        message: str,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.error = error
        self.message = message
        self.request_id = request_id
        self.body = body  # the API's whole error document, when there was one

    def document(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {"error": self.error, "message": self.message, "request_id": self.request_id}
