"""What every Gencaster table shares: a UUID primary key and timestamps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model

if TYPE_CHECKING:
    from tortoise.backends.base.schema_generator import BaseSchemaGenerator


class UUIDModel(Model):
    uuid = fields.UUIDField(primary_key=True)

    class Meta:
        abstract = True


class TimestampedModel(UUIDModel):
    created_date = fields.DatetimeField(auto_now_add=True)
    modified_date = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class UniquePartialIndex(PartialIndex):
    """A unique index over the rows that match ``condition``.

    Tortoise's ``PartialIndex`` only creates plain indexes; rules such as "one
    entry node per graph" need the database to refuse a second row.
    """

    def get_sql(self, schema_generator: BaseSchemaGenerator, model: type[Model], safe: bool) -> str:
        return schema_generator.UNIQUE_INDEX_CREATE_TEMPLATE.format(
            exists="IF NOT EXISTS " if safe else "",
            index_name=self.name,
            index_type="",
            table_name=schema_generator._qualify_table_name(
                model._meta.db_table, model._meta.schema
            ),
            fields=schema_generator._format_index_fields(self.field_names),
            extra=self.extra,
        )
