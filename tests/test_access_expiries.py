"""Session expiries of watched subscriptions: one timer, each entry revoked once, in order."""

from __future__ import annotations

from uuid import uuid4

from gencaster.access import Expiries, Watched
from gencaster.errors import Unauthenticated
from tests.support.polling import eventually


def _entry(name: str, ended: list[str]) -> Watched:
    def on_revoke(_error: Unauthenticated) -> None:
        ended.append(name)

    return Watched(digest=name, user_uuid=uuid4(), revoke_callback=on_revoke)


async def test_watched_entries_are_revoked_in_the_order_their_sessions_expire() -> None:
    ended: list[str] = []
    watched: set[Watched] = set()
    expiries = Expiries(watched)
    for name, delay in [("late", 0.06), ("early", 0.0), ("middle", 0.03), ("left", 0.01)]:
        entry = _entry(name, ended)
        watched.add(entry)
        expiries.add(entry, delay)
        if name == "left":
            watched.discard(entry)  # its subscription ended before the session did

    await eventually(lambda: len(ended) == 3, within=10, message="not every entry expired")
    assert ended == ["early", "middle", "late"]
    expiries.close()


async def test_entries_no_longer_watched_do_not_pile_up() -> None:
    ended: list[str] = []
    watched: set[Watched] = set()
    expiries = Expiries(watched)
    for index in range(500):
        entry = _entry(str(index), ended)
        watched.add(entry)
        expiries.add(entry, 3600.0)
        watched.discard(entry)

    assert len(expiries._heap) <= 2 * len(watched) + 65
    expiries.close()
    assert ended == []
