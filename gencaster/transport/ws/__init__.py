"""GraphQL over WebSocket, free of any web framework.

A framework adapter picks the subprotocol at the handshake and hands a
``SocketAdapter`` to exactly one handler; both handlers share ``OperationRegistry``.
"""

from gencaster.transport.ws.adapter import ConnectionInfo, InvalidFrame, SocketAdapter, SocketClosed
from gencaster.transport.ws.closecodes import CloseCode
from gencaster.transport.ws.graphql_transport_ws import GraphQLTransportWSHandler
from gencaster.transport.ws.graphql_ws import GraphQLWSHandler
from gencaster.transport.ws.operation import ContextFactory, OnConnect, SocketSettings
from gencaster.transport.ws.registry import OperationRegistry, OperationScope

__all__ = [
    "CloseCode",
    "ConnectionInfo",
    "ContextFactory",
    "GraphQLTransportWSHandler",
    "GraphQLWSHandler",
    "InvalidFrame",
    "OnConnect",
    "OperationRegistry",
    "OperationScope",
    "SocketAdapter",
    "SocketClosed",
    "SocketSettings",
]
