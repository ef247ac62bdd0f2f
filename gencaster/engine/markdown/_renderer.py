"""The mistletoe renderer that turns the Gencaster markdown dialect into SSML."""

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from mistletoe import block_token, span_token
from mistletoe.base_renderer import BaseRenderer
from mistletoe.block_token import Document

from ._directives import Directives, ExpressionRunner
from ._xml import escape_text

HEADING_PAUSE = '<break time="400ms"/>'
THEMATIC_BREAK_PAUSE = '<break time="1s"/>'
HARD_LINE_BREAK_PAUSE = '<break strength="weak"/>'

# mistletoe parses with token lists held in module globals. Holding this lock while they are
# swapped keeps render_ssml calls from other threads (e.g. asyncio.to_thread) out of each other's
# way; asyncio tasks cannot interleave anyway, since render_ssml never awaits.
_PARSE_LOCK = threading.RLock()


@dataclass(slots=True)
class SsmlResult:
    """The SSML, the warnings for the stream log, and the variables after ``python_exec`` ran."""

    ssml: str
    warnings: list[str]
    variables: dict[str, str] = field(default_factory=dict)


class DialectToken(span_token.SpanToken):
    """``{name}`value```: a name in braces directly followed by an inline code span.

    The code-span part mirrors mistletoe's own ``InlineCode`` pattern so both agree on where the
    value ends; a backslash before the brace keeps the text literal.
    """

    pattern = re.compile(
        r"(?<!\\)\{([A-Za-z_][A-Za-z0-9_]*)\}(`+)(?!`)(.+?)(?<!`)\2(?!`)", re.DOTALL
    )
    parse_inner = False
    parse_group = 0

    def __init__(self, match: re.Match[str]) -> None:
        self.name = match.group(1)
        self.value = _code_span_content(match.group(3))


def _code_span_content(raw: str) -> str:
    """Normalise like a CommonMark code span: newlines become spaces, one padding space goes."""
    content = raw.replace("\n", " ")
    if content.startswith(" ") and content.endswith(" ") and not content.isspace():
        content = content[1:-1]
    return content


class SsmlRenderer(BaseRenderer):
    """Renders one parsed document; blocks become a flat run of ``<p>`` inside ``<speak>``.

    Use it as a context manager around parsing only: on entry mistletoe parses with exactly its
    default tokens plus ``DialectToken`` (whatever an enclosing renderer registered), and on exit
    the caller's token lists come back unchanged. ``BaseRenderer.__exit__`` would instead reset
    them to the defaults and so unregister the tokens of a renderer we were called inside.
    """

    def __init__(self, directives: Directives) -> None:
        super().__init__()
        self.render_map["DialectToken"] = self.render_dialect_token
        self._directives = directives
        self._saved_token_types: list[tuple[list[type], list[type]]] = []

    def __enter__(self) -> "SsmlRenderer":
        self._saved_token_types.append((span_token._token_types, block_token._token_types))
        span_token.reset_tokens()
        block_token.reset_tokens()
        span_token.add_token(DialectToken)
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span_token._token_types, block_token._token_types = self._saved_token_types.pop()

    def render_document(self, token: block_token.Document) -> str:
        return f"<speak>{self.render_inner(token)}</speak>"

    def render_heading(self, token: block_token.Heading) -> str:
        inner = self.render_inner(token)
        return f"<p>{inner}</p>{HEADING_PAUSE}" if inner.strip() else ""

    def render_paragraph(self, token: block_token.Paragraph) -> str:
        return _paragraph(self.render_inner(token))

    def render_block_code(self, token: block_token.BlockCode) -> str:
        return ""  # code is for readers, not listeners

    def render_table(self, token: block_token.Table) -> str:
        header = self.render_table_row(token.header) if hasattr(token, "header") else ""
        return header + self.render_inner(token)

    def render_table_row(self, token: block_token.TableRow) -> str:
        cells = (self.render(cell) for cell in token.children or ())
        return _paragraph(", ".join(cell for cell in cells if cell.strip()))

    def render_thematic_break(self, token: block_token.ThematicBreak) -> str:
        return THEMATIC_BREAK_PAUSE

    def render_line_break(self, token: span_token.LineBreak) -> str:
        return " " if token.soft else HARD_LINE_BREAK_PAUSE

    def render_raw_text(self, token: span_token.RawText) -> str:
        return escape_text(token.content)

    def render_dialect_token(self, token: DialectToken) -> str:
        return self._directives.render(token.name, token.value)


def _paragraph(inner: str) -> str:
    """Wrap spoken content in ``<p>``; a block that says nothing (only python_exec) disappears."""
    return f"<p>{inner}</p>" if inner.strip() else ""


def render_ssml(
    markdown: str,
    *,
    variables: Mapping[str, str] | None = None,
    runner: ExpressionRunner | None = None,
) -> SsmlResult:
    """Render the Gencaster markdown dialect to a well-formed ``<speak>`` document.

    Never raises for bad content: unknown tokens, invalid breaks, missing variables and failing
    runner calls become ``warnings``. ``variables`` is copied, never mutated; the copy, as changed
    by ``python_exec`` tokens (in document order), is returned with every value made a string.
    """
    directives = Directives(dict(variables or {}), runner)
    renderer = SsmlRenderer(directives)
    with _PARSE_LOCK, renderer:
        document = Document(markdown)
    ssml = renderer.render(document)
    changed = {str(key): str(value) for key, value in directives.variables.items()}
    return SsmlResult(ssml=ssml, warnings=directives.warnings, variables=changed)


class _TokenCollector(Directives):
    """Renders nothing; notes each ``{name}`value``` token where the renderer meets it."""

    def __init__(self) -> None:
        super().__init__({}, None)
        self.found: list[tuple[str, str]] = []

    def render(self, name: str, value: str) -> str:
        self.found.append((name, value))
        return ""


def dialect_tokens(markdown: str) -> list[tuple[str, str]]:
    """The ``(name, value)`` of every token the speech would render, in document order
    (tokens inside code blocks are silent and left out)."""
    collector = _TokenCollector()
    renderer = SsmlRenderer(collector)
    with _PARSE_LOCK, renderer:
        document = Document(markdown)
    renderer.render(document)
    return collector.found
