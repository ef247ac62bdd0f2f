"""Cost of FieldExecution next to graphql-core's own ExecutionContext (the baseline).

    .venv/bin/python -m bench.field_execution [--items 5000] [--rounds 7]

Runs one list of ``--items`` objects through a schema of its own (no database, no
HTTP), with only synchronous fields and with one asynchronous field per object,
under both execution contexts in turn, and prints the median time of ``--rounds``.
FieldExecution stops the siblings of a failed field; this shows what that costs
when nothing fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from inspect import isawaitable
from typing import Any

from graphql import (
    ExecutionContext,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
)

from gencaster.transport.fields import FieldExecution

DOCUMENTS = {
    "sync fields": "{ items { number text } }",
    "one async field": "{ items { number text later } }",
}


async def _later(number: int, _info: Any) -> int:
    return number


def build_schema(items: int) -> GraphQLSchema:
    item = GraphQLObjectType(
        "Item",
        {
            "number": GraphQLField(GraphQLInt, resolve=lambda number, _info: number),
            "text": GraphQLField(GraphQLString, resolve=lambda number, _info: str(number)),
            "later": GraphQLField(GraphQLInt, resolve=_later),
        },
    )
    listed = GraphQLNonNull(GraphQLList(GraphQLNonNull(item)))
    query = GraphQLObjectType(
        "Query", {"items": GraphQLField(listed, resolve=lambda *_: range(items))}
    )
    return GraphQLSchema(query)


async def measure(items: int, rounds: int) -> None:
    schema = build_schema(items)
    for label, text in DOCUMENTS.items():
        document = parse(text)
        times: dict[type[ExecutionContext], list[float]] = {
            ExecutionContext: [],
            FieldExecution: [],
        }
        for _ in range(rounds):
            for context_class, spent in times.items():
                start = time.perf_counter()
                result = execute(schema, document, execution_context_class=context_class)
                if isawaitable(result):
                    result = await result
                spent.append(time.perf_counter() - start)
                assert not result.errors, result.errors
        baseline, ours = (statistics.median(times[c]) * 1000 for c in times)
        print(
            f"{label:16} {items} items: graphql-core {baseline:7.1f} ms, "
            f"FieldExecution {ours:7.1f} ms (median of {rounds})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(measure(args.items, args.rounds))


if __name__ == "__main__":
    main()
