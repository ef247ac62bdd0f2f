"""Fixtures for the markdown dialect tests: a real eval-based runner and a checked render."""

from collections.abc import Callable, Mapping
from xml.etree import ElementTree

import pytest

from gencaster.engine.markdown import ExpressionRunner, SsmlResult, render_ssml

Render = Callable[..., SsmlResult]


class EvalRunner:
    """A real ExpressionRunner: eval/exec with no builtins and ``vars`` bound to the variables."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        self.calls.append(("evaluate", code))
        return eval(code, {"__builtins__": {}}, {"vars": variables})

    def execute(self, code: str, variables: dict[str, str]) -> None:
        self.calls.append(("execute", code))
        exec(code, {"__builtins__": {}}, {"vars": variables})


def parse_speak(ssml: str) -> ElementTree.Element:
    """Parse the output as XML (fails on anything not well-formed) and check the root."""
    root = ElementTree.fromstring(ssml)
    assert root.tag == "speak"
    return root


@pytest.fixture
def runner() -> EvalRunner:
    return EvalRunner()


@pytest.fixture
def render() -> Render:
    """render_ssml that also asserts every output is a well-formed ``<speak>`` document."""

    def _render(
        markdown: str,
        *,
        variables: Mapping[str, str] | None = None,
        runner: ExpressionRunner | None = None,
    ) -> SsmlResult:
        result = render_ssml(markdown, variables=variables, runner=runner)
        parse_speak(result.ssml)
        return result

    return _render
