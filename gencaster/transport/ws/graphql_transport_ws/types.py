"""Messages of the ``graphql-transport-ws`` subprotocol (the graphql-ws library)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class ConnectionInitMessage(TypedDict):
    """Client -> server: opens the connection; allowed once."""

    type: Literal["connection_init"]
    payload: NotRequired[dict[str, Any] | None]


class ConnectionAckMessage(TypedDict):
    """Server -> client: the connection was accepted."""

    type: Literal["connection_ack"]
    payload: NotRequired[dict[str, Any]]


class PingMessage(TypedDict):
    """Either direction: asks for a pong."""

    type: Literal["ping"]
    payload: NotRequired[dict[str, Any] | None]


class PongMessage(TypedDict):
    """Either direction: answers a ping, or a one-way heartbeat."""

    type: Literal["pong"]
    payload: NotRequired[dict[str, Any] | None]


class SubscribePayload(TypedDict):
    query: str
    operationName: NotRequired[str | None]
    variables: NotRequired[dict[str, Any] | None]
    extensions: NotRequired[dict[str, Any] | None]


class SubscribeMessage(TypedDict):
    """Client -> server: starts an operation under a client-chosen id."""

    id: str
    type: Literal["subscribe"]
    payload: SubscribePayload


class NextMessage(TypedDict):
    """Server -> client: one execution result of the operation."""

    id: str
    type: Literal["next"]
    payload: dict[str, Any]


class ErrorMessage(TypedDict):
    """Server -> client: the operation failed and has ended."""

    id: str
    type: Literal["error"]
    payload: list[dict[str, Any]]


class CompleteMessage(TypedDict):
    """Either direction: the operation has ended (server) or must end (client)."""

    id: str
    type: Literal["complete"]


ClientMessage = (
    ConnectionInitMessage | PingMessage | PongMessage | SubscribeMessage | CompleteMessage
)
ServerMessage = (
    ConnectionAckMessage | PingMessage | PongMessage | NextMessage | ErrorMessage | CompleteMessage
)
