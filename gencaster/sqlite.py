"""Tortoise engine module for SQLite connections that carry the filter functions.

The filter lookups need ``regexp``, a case-sensitive ``like`` and a Unicode
``upper`` that SQLite lacks; ``db.tortoise_config`` names this module as the
engine of SQLite URLs so every connection Tortoise opens has them.
"""

from gencaster.schema.filters import SqliteClientWithFunctions as client_class

__all__ = ["client_class"]
