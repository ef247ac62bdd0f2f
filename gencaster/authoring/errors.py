"""Errors of the authoring tools; messages are meant for the author who ran them."""

from __future__ import annotations

from gencaster.errors import BadUserInput, Conflict, NotFound


class GraphNotFound(NotFound):
    """No graph has that uuid, slug or name."""


class ArchiveRefused(BadUserInput):
    """The archive or its document is not one Gencaster can import (or export)."""


class GraphClash(Conflict):
    """The imported graph's name, slug or ids are taken on this server."""
