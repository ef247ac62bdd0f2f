"""Each inline token and plain markdown, table-driven: markdown in, exact SSML and warnings out."""

from xml.etree import ElementTree

import pytest

from gencaster.engine import markdown as markdown_package
from gencaster.engine.markdown import SsmlResult, render_ssml

from .conftest import Render

VARIABLES = {"name": "Ada", "empty": "", "city": "Köln"}

# (id, markdown, expected SSML inside <speak>, expected number of warnings)
CASES: list[tuple[str, str, str, int]] = [
    ("plain", "Hello there.", "<p>Hello there.</p>", 0),
    ("empty", "", "", 0),
    (
        "chars",
        "{chars}`BBC`",
        '<p><say-as interpret-as="characters">BBC</say-as></p>',
        0,
    ),
    ("break", "a {break}`300ms` b", '<p>a <break time="300ms"/> b</p>', 0),
    (
        "moderate",
        "{moderate}`really`",
        '<p><emphasis level="moderate">really</emphasis></p>',
        0,
    ),
    ("male", "{male}`low`", '<p><voice gender="male">low</voice></p>', 0),
    ("female", "{female}`high`", '<p><voice gender="female">high</voice></p>', 0),
    ("var", "Hi {var}`name`!", "<p>Hi Ada!</p>", 0),
    ("var padded", "Hi {var}` name | you `!", "<p>Hi Ada!</p>", 0),
    ("var non-ascii", "{var}`city`", "<p>Köln</p>", 0),
    ("var empty value wins over fallback", "[{var}`empty|x`]", "<p>[]</p>", 0),
    ("var fallback", "Hi {var}`nick|friend`!", "<p>Hi friend!</p>", 0),
    ("var fallback keeps later pipes", "{var}`nick|a|b`", "<p>a|b</p>", 0),
    ("var empty fallback", "Hi {var}`nick|`!", "<p>Hi !</p>", 0),
    ("var missing", "Hi {var}`nick`!", "<p>Hi !</p>", 1),
    (
        "raw_ssml",
        '{raw_ssml}`<prosody rate="slow">s l o w</prosody>`',
        '<p><prosody rate="slow">s l o w</prosody></p>',
        0,
    ),
    (
        "raw_ssml double backticks",
        '{raw_ssml}``<audio src="a`b.ogg"/>``',
        '<p><audio src="a`b.ogg"/></p>',
        0,
    ),
    ("raw_ssml malformed", "x {raw_ssml}`<break>` y", "<p>x  y</p>", 1),
    ("raw_ssml unbalanced", "{raw_ssml}`</speak><speak>`", "", 1),
    ("raw_ssml undefined entity", "{raw_ssml}`&nbsp;`", "", 1),
    ("unknown token", "{shout}`hey` you", "<p>hey you</p>", 1),
    ("names are case-sensitive", "{Chars}`x`", "<p>x</p>", 1),
    ("python without runner", "a {python}`1 + 1` b", "<p>a  b</p>", 1),
    ("python_exec without runner", "{python_exec}`vars['x'] = '1'`", "", 1),
    ("space before code is no token", "{chars} `x`", "<p>{chars} x</p>", 0),
    ("escaped brace is no token", r"\{chars}`x`", "<p>{chars}x</p>", 0),
    ("invalid name is no token", "{1x}`y`", "<p>{1x}y</p>", 0),
    (
        "several tokens",
        "{chars}`AB`{chars}`CD`",
        '<p><say-as interpret-as="characters">AB</say-as>'
        '<say-as interpret-as="characters">CD</say-as></p>',
        0,
    ),
    # Markdown around the tokens.
    (
        "heading",
        "# Welcome {var}`name`\n\nText.",
        '<p>Welcome Ada</p><break time="400ms"/><p>Text.</p>',
        0,
    ),
    ("setext heading", "Title\n=====", '<p>Title</p><break time="400ms"/>', 0),
    (
        "emphasis and strong",
        "*so* **{moderate}`very`** _{chars}`OK`_",
        '<p>so <emphasis level="moderate">very</emphasis> '
        '<say-as interpret-as="characters">OK</say-as></p>',
        0,
    ),
    (
        "link text only",
        '[listen to {female}`me`](https://example.org/x?a=1&b=2 "title")',
        '<p>listen to <voice gender="female">me</voice></p>',
        0,
    ),
    ("autolink", "<https://example.org>", "<p>https://example.org</p>", 0),
    (
        "image alt text",
        "![a red {chars}`UFO`](ufo.png)",
        '<p>a red <say-as interpret-as="characters">UFO</say-as></p>',
        0,
    ),
    (
        "list items",
        "- one {var}`name`\n- two\n  1. nested {break}`1.5s`",
        '<p>one Ada</p><p>two</p><p>nested <break time="1.5s"/></p>',
        0,
    ),
    ("loose list", "1. first\n\n2. second", "<p>first</p><p>second</p>", 0),
    ("quote", "> quoted {var}`name`", "<p>quoted Ada</p>", 0),
    ("fenced code is silent", "say\n\n```\n{chars}`X` code\n```", "<p>say</p>", 0),
    ("indented code is silent", "say\n\n    code()\n", "<p>say</p>", 0),
    ("inline code is read", "run `ls` now", "<p>run ls now</p>", 0),
    ("soft line break", "a\nb", "<p>a b</p>", 0),
    ("hard line break", "a  \nb", '<p>a<break strength="weak"/>b</p>', 0),
    ("thematic break", "a\n\n---\n\nb", '<p>a</p><break time="1s"/><p>b</p>', 0),
    (
        "table rows",
        "| who | where |\n|---|---|\n| {var}`name` | {var}`city` |",
        "<p>who, where</p><p>Ada, Köln</p>",
        0,
    ),
    ("raw html is text", "<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>", 0),
    ("entities are text", "&lt;tag&gt; &amp;", "<p>&lt;tag&gt; &amp;</p>", 0),
]


@pytest.mark.parametrize(
    ("markdown", "expected", "warning_count"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_markdown_renders_to_expected_ssml(
    render: Render, markdown: str, expected: str, warning_count: int
) -> None:
    result = render(markdown, variables=VARIABLES)
    assert result.ssml == f"<speak>{expected}</speak>"
    assert len(result.warnings) == warning_count, result.warnings


def test_warnings_name_the_problem(render: Render) -> None:
    result = render("{shout}`hey` {var}`nick` {raw_ssml}`<x>` {python}`1`")
    assert result.warnings == [
        "unknown markdown token {shout} with value 'hey'",
        "stream variable 'nick' is missing and has no fallback",
        "raw_ssml is not well-formed XML and was left out: '<x>'",
        "python token without a runner was left out: '1'",
    ]


def test_warnings_are_logged(render: Render, caplog: pytest.LogCaptureFixture) -> None:
    render("{shout}`hey`")
    assert "unknown markdown token {shout}" in caplog.text


def test_long_values_are_shortened_in_warnings(render: Render) -> None:
    result = render("{shout}`" + "x" * 500 + "`")
    assert result.ssml == "<speak><p>" + "x" * 500 + "</p></speak>"
    assert len(result.warnings[0]) < 150


VALID_BREAKS = ["0ms", "300ms", "1.5s", "10s", "10000ms", "10.000s", "2.25s", " 300ms "]
INVALID_BREAKS = [
    "10.001s",
    "11s",
    "100000ms",
    "-1s",
    "1 s",
    "1sec",
    "1e3ms",
    "300",
    ".5s",
    "1.s",
    "1.2345s",
    "\u0661\u0662ms",
    "300MS",
    '300ms"/><audio src="x"/><break time="1s',
]


@pytest.mark.parametrize("value", VALID_BREAKS)
def test_valid_break_times_become_breaks(render: Render, value: str) -> None:
    result = render(f"{{break}}`{value}`")
    assert result.ssml == f'<speak><p><break time="{value.strip()}"/></p></speak>'
    assert result.warnings == []


@pytest.mark.parametrize("value", INVALID_BREAKS)
def test_invalid_break_times_are_kept_as_text_and_logged(render: Render, value: str) -> None:
    result = render(f"{{break}}`{value}`")
    assert "<break" not in result.ssml
    assert "".join(ElementTree.fromstring(result.ssml).itertext()) == value
    assert len(result.warnings) == 1
    assert "invalid break time" in result.warnings[0]


def test_result_carries_the_variables() -> None:
    result = render_ssml("x", variables={"a": "1"})
    assert result == SsmlResult(ssml="<speak><p>x</p></speak>", warnings=[], variables={"a": "1"})


def test_public_api_is_small() -> None:
    assert sorted(markdown_package.__all__) == [
        "ExpressionRunner",
        "SsmlResult",
        "TOKEN_NAMES",
        "dialect_tokens",
        "render_ssml",
    ]


def test_dialect_tokens_lists_the_tokens_the_speech_renders() -> None:
    text = "Hi {var}`name|x`, {foo}`bar`\n\n```\n{var}`silent`\n```\n# {python}`1 + 1`"
    assert markdown_package.dialect_tokens(text) == [
        ("var", "name|x"),
        ("foo", "bar"),
        ("python", "1 + 1"),
    ]
