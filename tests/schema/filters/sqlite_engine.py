"""A Tortoise engine module whose SQLite connections always carry the filter functions."""

from gencaster.schema.filters import SqliteClientWithFunctions as client_class

__all__ = ["client_class"]
