"""The author documentation cannot drift from the sandbox, the dialect or the lint."""

from __future__ import annotations

import random
import re
from pathlib import Path

from gencaster.authoring.lint import CHECKS
from gencaster.engine.markdown import TOKEN_NAMES
from gencaster.engine.markdown._directives import Directives
from gencaster.engine.sandbox import Budget
from gencaster.engine.sandbox._namespaces import DATETIME, TIME, random_namespace
from gencaster.engine.sandbox._policy import CELL_NAMES, COMMON_NAMES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "authoring"


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def first_cells(text: str) -> list[str]:
    """The backticked first cell of each table row."""
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE)


def test_python_reference_lists_exactly_the_names_the_sandbox_allows():
    names = section((DOCS / "python.md").read_text(), "Names")
    everywhere, _, cells_only = names.partition("In cells only:")
    assert sorted(first_cells(everywhere)) == sorted(COMMON_NAMES)
    assert sorted(first_cells(cells_only)) == sorted(CELL_NAMES - COMMON_NAMES)


def test_python_reference_lists_exactly_the_namespace_members():
    members = first_cells(section((DOCS / "python.md").read_text(), "Members"))
    documented = {member.split("(")[0] for member in members}
    allowed = {
        f"random.{name}" for name in random_namespace(Budget(), random.Random()).member_names
    }
    allowed |= {f"time.{name}" for name in TIME.member_names}
    allowed |= {f"datetime.{name}" for name in DATETIME.member_names}
    assert documented == allowed | {"asyncio.sleep"}


def test_python_reference_states_the_budget_that_is_enforced():
    text = " ".join((DOCS / "python.md").read_text().split())
    budget = Budget()
    assert f"({budget.max_slice_seconds} s at a time, one million steps per run)" in text
    assert budget.max_steps == 1_000_000
    assert f"{budget.max_size:,} characters or items".replace(",", " ") in text
    assert f"ints up to {budget.max_int_bits} bits" in text
    assert f"at most {int(budget.max_sleep_seconds)})" in text
    assert f"({budget.max_print_lines} lines per run)" in text
    assert f"shows at most {budget.max_dialogs} dialogs;" in text
    assert f"a first burst of {budget.dialog_burst} it may show" in text
    assert f"may show {budget.dialogs_per_second:g} per second" in text


def test_markdown_reference_lists_exactly_the_dialect_tokens():
    documented = first_cells((DOCS / "markdown.md").read_text())
    assert sorted(documented) == sorted(TOKEN_NAMES)
    renders = Directives({}, None)._handlers
    assert set(renders) == TOKEN_NAMES


def test_lint_reference_has_one_section_per_code_with_its_severity():
    headings = re.findall(
        r"^## (GC\d{4}) — (error|warning|info): (.+)$",
        (DOCS / "lint.md").read_text(),
        flags=re.MULTILINE,
    )
    assert [code for code, _, _ in headings] == sorted(CHECKS)
    for code, severity, title in headings:
        assert (severity.upper(), title) == (CHECKS[code].severity.value, CHECKS[code].title)
