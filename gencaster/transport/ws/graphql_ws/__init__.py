"""The legacy ``graphql-ws`` subprotocol of subscriptions-transport-ws."""

from gencaster.transport.ws.graphql_ws.handlers import PROTOCOL, GraphQLWSHandler

__all__ = ["PROTOCOL", "GraphQLWSHandler"]
