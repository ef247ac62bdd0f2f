"""Numeric stream variables reach SuperCollider as `Ndef("<key>".asSymbol, <number>);`."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import pytest

from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.osc import FakeStreamPoint
from gencaster.supercollider import variable_code
from models import StreamInstruction, StreamPoint
from tests.streaming.points.conftest import TIMEOUT, registered
from tests.support.osc import UdpPeer

MakeFake = Callable[..., Awaitable[FakeStreamPoint]]


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("freq", 440, 'Ndef("freq".asSymbol, 440);'),
        ("amp", 0.5, 'Ndef("amp".asSymbol, 0.5);'),
        ("tiny", 1e-07, 'Ndef("tiny".asSymbol, 1e-07);'),
        ("huge", 1.5e20, 'Ndef("huge".asSymbol, 1.5e+20);'),
        ("neg", -3.25, 'Ndef("neg".asSymbol, -3.25);'),
        ("whole", 2.0, 'Ndef("whole".asSymbol, 2.0);'),
        ("big_int", 2**40, 'Ndef("big_int".asSymbol, 1099511627776.0);'),
        ("A1_b", -(2**31), 'Ndef("A1_b".asSymbol, -2147483648);'),
    ],
)
def test_the_text_is_exactly_the_contract(key: str, value: float, text: str):
    assert variable_code(key, value) == text


@pytest.mark.parametrize(
    "key",
    [
        "",
        "1abc",
        "_x",
        "a-b",
        "a b",
        'x".asSymbol, 1); "',
        "freq;",
        "freq\n",
        "ä",
        "a\0",
        "x" * 256,
        5,
    ],
)
def test_keys_that_are_not_plain_identifiers_are_refused(key: object):
    with pytest.raises(ValueError):
        variable_code(key, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, "1", "1; s.quit", True, None, [1], 10**400]
)
def test_values_that_are_not_finite_numbers_are_refused(value: object):
    with pytest.raises(ValueError):
        variable_code("ok", value)  # type: ignore[arg-type]


async def test_the_point_receives_the_text(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point()
    point = await registered(fake)
    row = await dispatcher.send_variable(point, "cutoff", 1e-07)
    (received,) = await fake.wait_for_instructions(1, TIMEOUT)
    assert received.code == 'Ndef("cutoff".asSymbol, 1e-07);' == row.instruction_text
    assert received.manual_finish is False


async def test_a_refused_variable_sends_nothing_and_stores_nothing(
    db: str, make_peer: Callable[[], Awaitable[UdpPeer]], dispatcher: InstructionDispatcher
):
    peer = await make_peer()
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    with pytest.raises(ValueError):
        await dispatcher.send_variable(point, "bad key", 1.0)
    with pytest.raises(ValueError):
        await dispatcher.send_variable(point, "ok", math.nan)
    with pytest.raises(TimeoutError):
        await peer.receive(within=0.2)
    assert not await StreamInstruction.exists(stream_point_id=point.uuid)
