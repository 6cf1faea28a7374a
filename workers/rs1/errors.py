"""Domain errors: what went wrong, in the domain's words.

Domain code raises these; the HTTP edge (rs1.http.error_map) turns each kind into a status,
in one place. `code` is the machine-readable error clients see (`"topic_mismatch"`), so a
caller can catch a kind (`except TopicMismatch`) instead of matching strings.
"""

from typing import Any, Self


class DomainError(Exception):
    code: str = "error"  # each kind's default; an instance may name a finer one

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def prefixed(self, where: str) -> Self:
        """The same error (kind, code, details), its message prefixed with what it is about
        (`envelope 3: `)."""
        located = type(self).__new__(type(self))  # no __init__: kinds take their own arguments
        located.__dict__.update(self.__dict__)
        located.message = where + self.message
        located.args = (located.message,)
        return located


class InvalidInput(DomainError):
    """The caller sent something malformed (a bad topic, payload, parameter)."""

    code = "invalid_request"


class BadParameter(InvalidInput):
    """A query parameter, cursor or header the caller got wrong."""

    code = "bad_request"


class Unprocessable(DomainError):
    """Well-formed, but it names something that cannot be used (an unknown firmware)."""

    code = "unprocessable"


class Unauthenticated(DomainError):
    """No usable credentials: the caller must (re)authenticate."""

    code = "unauthorized"


class BearerRequired(Unauthenticated):
    """A user call without a live bearer session (the answer challenges for one)."""


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"


class TopicMismatch(Forbidden):
    """A device published on another device's topic."""

    code = "topic_mismatch"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The record's state forbids this now (already claimed, rollout finished, stale stage)."""

    code = "conflict"


class PreconditionRequired(DomainError):
    """The call needs the caller's version (If-Match) and none was given."""

    code = "precondition_required"


class RangeNotSatisfiable(DomainError):
    code = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class Unavailable(DomainError):
    """A dependency cannot serve right now; the caller may retry."""

    code = "unavailable"
