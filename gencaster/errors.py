"""Domain errors that clients see as GraphQL errors.

Every error a client may be shown derives from ``GencasterError`` and carries the
``extensions.code`` of API.md. Anything else that escapes a resolver is reported as
``INTERNAL_SERVER_ERROR`` with a generic message (the traceback stays in the log).

    GencasterError
    ├── Unauthenticated      UNAUTHENTICATED
    ├── Forbidden            FORBIDDEN
    ├── NotFound             NOT_FOUND
    ├── BadUserInput         BAD_USER_INPUT
    ├── Conflict             CONFLICT
    └── ServiceUnavailable   SERVICE_UNAVAILABLE
"""

from __future__ import annotations


class GencasterError(Exception):
    """Root of the errors whose message is safe to show to a client."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, object]:
        """What clients see in ``extensions`` besides ``code``."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class Unauthenticated(GencasterError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "You must be logged in as staff to do this") -> None:
        super().__init__(message)


class Forbidden(GencasterError):
    code = "FORBIDDEN"


class NotFound(GencasterError):
    code = "NOT_FOUND"


class BadUserInput(GencasterError):
    code = "BAD_USER_INPUT"


class Conflict(GencasterError):
    code = "CONFLICT"


class ServiceUnavailable(GencasterError):
    """The database (or another service) cannot be reached right now; try again."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, message: str = "The database is unavailable; try again shortly") -> None:
        super().__init__(message)
