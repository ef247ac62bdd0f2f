"""Markdown -> SSML for MARKDOWN script cells: the Gencaster dialect (DESIGN.md).

Plain markdown is read aloud, one ``<p>`` per paragraph, heading, list item or table row; code
blocks are silent. Inline tokens ``{name}`value``` add speech markup: ``chars``, ``break``,
``moderate``, ``male``, ``female``, ``var``, ``raw_ssml``, ``python``, ``python_exec``.
"""

from ._directives import TOKEN_NAMES, ExpressionRunner
from ._renderer import SsmlResult, dialect_tokens, render_ssml

__all__ = ["TOKEN_NAMES", "ExpressionRunner", "SsmlResult", "dialect_tokens", "render_ssml"]
