"""The published contract: graphql/schema.graphql and graphql/operations/."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from gencaster.cli import schema_sdl
from gencaster.schema import schema

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = sorted((ROOT / "graphql" / "operations").glob("*.graphql"))
FRAGMENTS = ROOT / "graphql" / "operations" / "fragments.graphql"


def test_committed_schema_matches_the_code():
    committed = (ROOT / "graphql" / "schema.graphql").read_text()
    assert committed == schema_sdl(), (
        "graphql/schema.graphql is out of date: run `gencaster export-schema`"
    )


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda path: path.name)
def test_every_operation_validates_against_the_schema(path: Path):
    source = path.read_text()
    if path != FRAGMENTS:
        source += "\n" + FRAGMENTS.read_text()
    document = parse(source)
    errors = validate(schema.graphql_schema, document)
    used = {d.name.value for d in document.definitions if hasattr(d, "selection_set")}
    unused = [e for e in errors if "is never used" in e.message]
    assert [e.message for e in errors if e not in unused] == []
    assert used


def test_wire_names_of_api_md_are_present():
    sdl = schema_sdl()
    for needle in (
        "type DjangoFileType",
        "union LoginRequestResponse = LoginError | User",
        "union NodeDoorResponse = NodeDoor | InvalidPythonCode",
        "union StreamInfoResponse = StreamInfo | Dialog | NoStreamAvailable | GraphDeadEnd",
        "input OffsetPaginationInput",
        "nIContains",
        "iStartsWith",
        "inList",
        "isNull",
        "scalar Void",
        "scalar UUID",
    ):
        assert needle in sdl, needle
