"""python / python_exec tokens through an ExpressionRunner, and runner failures as warnings."""

import asyncio

import pytest

from gencaster.engine.markdown import render_ssml

from .conftest import EvalRunner, Render


class SandboxError(Exception):
    """Stands in for the sandbox's own error type."""


class RejectingRunner:
    """A runner whose every call fails the way the sandbox reports rejected code."""

    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        raise SandboxError(f"rejected: {code}")

    def execute(self, code: str, variables: dict[str, str]) -> None:
        raise SandboxError(f"rejected: {code}")


class Unprintable:
    def __str__(self) -> str:
        raise ValueError("no text")


class UnprintableRunner(EvalRunner):
    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        return Unprintable()


class CancellingRunner(EvalRunner):
    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        raise asyncio.CancelledError


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("{python}`vars['name'].upper()`", "<p>ADA</p>"),
        ("{python}`6 * 7` answers", "<p>42 answers</p>"),
        ("{python}`None`", "<p>None</p>"),
        ("{python}`'<b>' + ' & '`", "<p>&lt;b&gt; &amp; </p>"),
        ("# {python}`vars['name'] * 2`", '<p>AdaAda</p><break time="400ms"/>'),
    ],
)
def test_python_inserts_the_result_as_text(
    render: Render, runner: EvalRunner, markdown: str, expected: str
) -> None:
    result = render(markdown, variables={"name": "Ada"}, runner=runner)
    assert result.ssml == f"<speak>{expected}</speak>"
    assert result.warnings == []


def test_python_exec_inserts_nothing_and_changes_later_variables(
    render: Render, runner: EvalRunner
) -> None:
    caller_variables = {"mood": "tired"}
    markdown = (
        "I was {var}`mood`.\n\n{python_exec}`vars['mood'] = 'calm'`\n\n"
        "Now I feel {var}`mood`, {python}`vars['mood']`."
    )
    result = render(markdown, variables=caller_variables, runner=runner)
    assert result.ssml == "<speak><p>I was tired.</p><p>Now I feel calm, calm.</p></speak>"
    assert result.variables == {"mood": "calm"}
    assert caller_variables == {"mood": "tired"}


def test_python_exec_values_are_returned_as_strings(render: Render, runner: EvalRunner) -> None:
    result = render("{python_exec}`vars['n'] = 3` {var}`n`", runner=runner)
    assert result.ssml == "<speak><p> 3</p></speak>"
    assert result.variables == {"n": "3"}


def test_tokens_run_in_document_order(render: Render, runner: EvalRunner) -> None:
    markdown = (
        "# {python}`'h'`\n\n"
        "- *{python}`'l1'`*\n- [{python_exec}`vars['x'] = 'l2'`](https://x)\n\n"
        "| {python}`'t1'` |\n|---|\n| {python}`'t2'` |\n\n"
        "> {python}`'q'`"
    )
    render(markdown, runner=runner)
    assert [code for _, code in runner.calls] == [
        "'h'",
        "'l1'",
        "vars['x'] = 'l2'",
        "'t1'",
        "'t2'",
        "'q'",
    ]


def test_code_blocks_do_not_run_python(render: Render, runner: EvalRunner) -> None:
    markdown = "```\n{python_exec}`vars['x'] = '1'`\n```\n\n    {python}`1`\n"
    result = render(markdown, runner=runner)
    assert runner.calls == []
    assert result.ssml == "<speak></speak>"


@pytest.mark.parametrize("markdown", ["a {python}`1` b", "a {python_exec}`x = 1` b"])
def test_runner_errors_become_warnings(render: Render, markdown: str) -> None:
    result = render(markdown, runner=RejectingRunner())
    assert result.ssml == "<speak><p>a  b</p></speak>"
    assert len(result.warnings) == 1
    assert "SandboxError: rejected:" in result.warnings[0]


def test_errors_in_the_code_become_warnings(render: Render, runner: EvalRunner) -> None:
    result = render("{python}`open('/etc/passwd')` {python}`1 / 0` ok", runner=runner)
    assert result.ssml == "<speak><p>  ok</p></speak>"
    assert [warning.split(": ")[1] for warning in result.warnings] == [
        "NameError",
        "ZeroDivisionError",
    ]


def test_unprintable_results_become_warnings(render: Render) -> None:
    result = render("x{python}`1`", runner=UnprintableRunner())
    assert result.ssml == "<speak><p>x</p></speak>"
    assert "ValueError: no text" in result.warnings[0]


def test_cancellation_is_not_swallowed() -> None:
    with pytest.raises(asyncio.CancelledError):
        render_ssml("{python}`1`", runner=CancellingRunner())
