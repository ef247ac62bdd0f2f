"""Text of every origin is escaped: listener-set variables and python results cannot add markup."""

from xml.etree import ElementTree

import pytest

from .conftest import EvalRunner, Render, parse_speak

# (payload, the text a parser must read back). No backticks or newlines: markdown payloads sit in
# code spans.
MARKUP_PAYLOADS = [
    ('</speak><audio src="x"/>', '</speak><audio src="x"/>'),
    ('<break time="100s"/>', '<break time="100s"/>'),
    ("Tom & Jerry", "Tom & Jerry"),
    ("&amp; &lt; &#60;", "&amp; &lt; &#60;"),
    ("\"quoted\" 'single'", "\"quoted\" 'single'"),
    ("]]><!-- x -->", "]]><!-- x -->"),
    ('<?xml version="1.0"?>', '<?xml version="1.0"?>'),
    ('<!DOCTYPE x [<!ENTITY a "b">]>&a;', '<!DOCTYPE x [<!ENTITY a "b">]>&a;'),
]
# Characters XML 1.0 cannot carry at all are dropped rather than breaking the document.
VARIABLE_ONLY_PAYLOADS = [
    ("a\x00b\x07c\x1bd", "abcd"),
    ("lone \ud800 surrogate", "lone  surrogate"),
    ("not \ufffe\uffff chars", "not  chars"),
    ("tab\tstays", "tab\tstays"),
]


def element_tags(ssml: str) -> list[str]:
    return [element.tag for element in parse_speak(ssml).iter()]


@pytest.mark.parametrize(("payload", "text"), MARKUP_PAYLOADS + VARIABLE_ONLY_PAYLOADS)
def test_variable_values_are_text(render: Render, payload: str, text: str) -> None:
    result = render("{var}`evil`", variables={"evil": payload})
    assert element_tags(result.ssml) == ["speak", "p"]
    assert "".join(parse_speak(result.ssml).itertext()) == text


@pytest.mark.parametrize(("payload", "text"), MARKUP_PAYLOADS + VARIABLE_ONLY_PAYLOADS)
def test_var_fallbacks_are_text(render: Render, payload: str, text: str) -> None:
    result = render(f"x{{var}}`missing|{payload}`")
    assert element_tags(result.ssml) == ["speak", "p"]
    assert "".join(parse_speak(result.ssml).itertext()) == "x" + text


@pytest.mark.parametrize(("payload", "text"), MARKUP_PAYLOADS + VARIABLE_ONLY_PAYLOADS)
def test_python_results_are_text(
    render: Render, runner: EvalRunner, payload: str, text: str
) -> None:
    result = render("{python}`vars['evil']`", variables={"evil": payload}, runner=runner)
    assert element_tags(result.ssml) == ["speak", "p"]
    assert "".join(parse_speak(result.ssml).itertext()) == text


@pytest.mark.parametrize(
    ("token", "tags"),
    [
        ("chars", ["speak", "p", "say-as"]),
        ("moderate", ["speak", "p", "emphasis"]),
        ("male", ["speak", "p", "voice"]),
        ("female", ["speak", "p", "voice"]),
        ("unknown", ["speak", "p"]),
    ],
)
@pytest.mark.parametrize(("payload", "text"), MARKUP_PAYLOADS)
def test_token_values_are_text(
    render: Render, token: str, tags: list[str], payload: str, text: str
) -> None:
    result = render(f"{{{token}}}`{payload}`")
    assert element_tags(result.ssml) == tags
    assert "".join(parse_speak(result.ssml).itertext()) == text


def test_markdown_text_is_escaped(render: Render) -> None:
    markdown = 'Tom & Jerry say "hi" <now> \'ok\' </speak><audio src="x"/>'
    result = render(markdown)
    assert result.ssml == (
        "<speak><p>Tom &amp; Jerry say &quot;hi&quot; &lt;now&gt; &apos;ok&apos; "
        "&lt;/speak&gt;&lt;audio src=&quot;x&quot;/&gt;</p></speak>"
    )
    assert ElementTree.fromstring(result.ssml).findtext("p") == markdown


def test_raw_ssml_is_the_one_trusted_way_to_add_markup(render: Render) -> None:
    result = render('{raw_ssml}`<audio src="jingle.ogg"/>` {var}`x`', variables={"x": "<a/>"})
    assert element_tags(result.ssml) == ["speak", "p", "audio"]
    assert result.ssml == '<speak><p><audio src="jingle.ogg"/> &lt;a/&gt;</p></speak>'


def test_variables_cannot_smuggle_raw_ssml(render: Render) -> None:
    result = render("{var}`x`", variables={"x": "{raw_ssml}`<audio src='x'/>`"})
    assert element_tags(result.ssml) == ["speak", "p"]
