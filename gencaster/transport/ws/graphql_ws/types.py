"""Messages of the legacy ``graphql-ws`` subprotocol (subscriptions-transport-ws)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class ConnectionInitMessage(TypedDict):
    """Client -> server: opens the connection."""

    type: Literal["connection_init"]
    payload: NotRequired[dict[str, Any] | None]


class ConnectionAckMessage(TypedDict):
    """Server -> client: the connection was accepted."""

    type: Literal["connection_ack"]
    payload: NotRequired[dict[str, Any]]


class ConnectionErrorMessage(TypedDict):
    """Server -> client: the connection was refused, or a message was unreadable."""

    type: Literal["connection_error"]
    payload: dict[str, Any]


class ConnectionKeepAliveMessage(TypedDict):
    """Server -> client: sent after the ack and then periodically."""

    type: Literal["ka"]


class ConnectionTerminateMessage(TypedDict):
    """Client -> server: close the socket."""

    type: Literal["connection_terminate"]


class StartPayload(TypedDict):
    query: str
    operationName: NotRequired[str | None]
    variables: NotRequired[dict[str, Any] | None]


class StartMessage(TypedDict):
    """Client -> server: starts an operation under a client-chosen id."""

    id: str
    type: Literal["start"]
    payload: StartPayload


class StopMessage(TypedDict):
    """Client -> server: ends an operation."""

    id: str
    type: Literal["stop"]


class DataMessage(TypedDict):
    """Server -> client: one execution result of the operation."""

    id: str
    type: Literal["data"]
    payload: dict[str, Any]


class ErrorMessage(TypedDict):
    """Server -> client: the operation (or the message) failed; the operation has ended."""

    id: NotRequired[str]
    type: Literal["error"]
    payload: dict[str, Any]


class CompleteMessage(TypedDict):
    """Server -> client: the operation has ended."""

    id: str
    type: Literal["complete"]


ClientMessage = ConnectionInitMessage | ConnectionTerminateMessage | StartMessage | StopMessage
ServerMessage = (
    ConnectionAckMessage
    | ConnectionErrorMessage
    | ConnectionKeepAliveMessage
    | DataMessage
    | ErrorMessage
    | CompleteMessage
)
