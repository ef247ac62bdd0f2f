"""The ``graphql-transport-ws`` subprotocol of the graphql-ws library."""

from gencaster.transport.ws.graphql_transport_ws.handlers import PROTOCOL, GraphQLTransportWSHandler

__all__ = ["PROTOCOL", "GraphQLTransportWSHandler"]
