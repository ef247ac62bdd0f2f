"""A model for short-lived Tortoise contexts, kept apart from ``FilterItem``."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ScratchItem(Model):
    """Loaded by the short-lived contexts of the SQL-function tests, so that initialising
    them never rebinds ``FilterItem`` away from the shared ``db`` fixture."""

    id = fields.IntField(primary_key=True)

    class Meta:
        table = "schema_filters_scratch"
