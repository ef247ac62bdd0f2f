"""A small model with one column of each kind the filters handle, nullable throughout."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class FilterItem(Model):
    key = fields.CharField(max_length=8, primary_key=True)
    name = fields.CharField(max_length=64, null=True)
    number = fields.IntField(null=True)
    ident = fields.UUIDField(null=True)
    flag = fields.BooleanField(default=False)

    class Meta:
        table = "schema_filters_item"
