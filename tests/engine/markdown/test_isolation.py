"""render_ssml restores mistletoe's global token state and shares nothing between calls."""

import asyncio

import mistletoe
import pytest
from mistletoe import Document, HtmlRenderer, block_token, span_token

from gencaster.engine.markdown import render_ssml

from .conftest import EvalRunner, parse_speak


def test_token_lists_are_restored() -> None:
    span_before, block_before = span_token._token_types, block_token._token_types
    span_copy, block_copy = list(span_before), list(block_before)
    render_ssml("{chars}`x` *y*")
    assert span_token._token_types is span_before
    assert block_token._token_types is block_before
    assert span_before == span_copy
    assert block_before == block_copy


def test_other_mistletoe_users_do_not_see_the_dialect() -> None:
    render_ssml("{chars}`x`")
    assert mistletoe.markdown("{chars}`x`") == "<p>{chars}<code>x</code></p>\n"


def test_an_enclosing_renderer_keeps_its_tokens() -> None:
    with HtmlRenderer() as html:
        inner = render_ssml("<b>bold</b> {chars}`x`")
        after = html.render(Document("<b>bold</b>"))
    assert inner.ssml == (
        '<speak><p>&lt;b&gt;bold&lt;/b&gt; <say-as interpret-as="characters">x</say-as></p></speak>'
    )
    assert after == "<p><b>bold</b></p>\n"


def test_the_dialect_is_parsed_after_a_failed_parse() -> None:
    class Exploding(str):
        def splitlines(self, keepends: bool = False) -> list[str]:
            raise RuntimeError("boom")

    span_before = span_token._token_types
    with pytest.raises(RuntimeError, match="boom"):
        render_ssml(Exploding("x"))
    assert span_token._token_types is span_before
    assert "say-as" in render_ssml("{chars}`x`").ssml


class NestingRunner(EvalRunner):
    """Renders markdown from inside a render, as a sandbox helper might."""

    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        return render_ssml(code, variables=variables).ssml


def test_render_can_be_called_from_a_runner() -> None:
    result = render_ssml(
        "a {python}`` {var}`name` `` b", variables={"name": "Ada"}, runner=NestingRunner()
    )
    parse_speak(result.ssml)
    assert "&lt;speak&gt;&lt;p&gt;Ada&lt;/p&gt;&lt;/speak&gt;" in result.ssml
    assert "say-as" in render_ssml("{chars}`x`").ssml


def render_for(index: int) -> tuple[int, str, list[str], dict[str, str]]:
    markdown = (
        f"{{var}}`name` {{python_exec}}`vars['seen'] = vars['name']` {{var}}`seen`"
        f" {{chars}}`N{index}` {{var}}`missing{index % 2}`"
    )
    result = render_ssml(markdown, variables={"name": f"listener-{index}"}, runner=EvalRunner())
    parse_speak(result.ssml)
    return index, result.ssml, result.warnings, result.variables


def check(index: int, ssml: str, warnings: list[str], variables: dict[str, str]) -> None:
    name = f"listener-{index}"
    assert ssml == (
        f'<speak><p>{name}  {name} <say-as interpret-as="characters">N{index}</say-as> </p></speak>'
    )
    assert warnings == [f"stream variable 'missing{index % 2}' is missing and has no fallback"]
    assert variables == {"name": name, "seen": name}


async def test_concurrent_tasks_do_not_share_state() -> None:
    async def one(index: int) -> tuple[int, str, list[str], dict[str, str]]:
        await asyncio.sleep(0)
        return render_for(index)

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(50))), timeout=10)
    for result in results:
        check(*result)


async def test_concurrent_threads_do_not_share_state() -> None:
    def many(start: int) -> list[tuple[int, str, list[str], dict[str, str]]]:
        return [render_for(index) for index in range(start, start + 40)]

    batches = await asyncio.wait_for(
        asyncio.gather(*(asyncio.to_thread(many, start * 100) for start in range(8))), timeout=60
    )
    for batch in batches:
        for result in batch:
            check(*result)
    assert mistletoe.markdown("{chars}`x`") == "<p>{chars}<code>x</code></p>\n"
