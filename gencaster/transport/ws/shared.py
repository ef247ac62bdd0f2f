"""Shared subscription feeds: one execution per distinct subscription, not per socket.

When a thousand editors watch one graph, each change should cost one re-read of
that graph and one serialisation, whatever the number of watchers. Subscriptions
that only *show* data (no side effects, no per-caller state) are keyed by their
query, variables, operation name and the caller's access level; subscribers with
the same key share one ``Feed``. A feed runs the subscription once, encodes each
result to JSON once, and hands the same ``EncodedPayload`` to every subscriber.

Most results never wake the subscriber's task: the feed hands each one to the
subscriber's ``deliver``, which writes the frame to the socket at once when the socket
can take it without waiting. Only when it cannot (a send under way, a slow reader, a
closing socket) does the result wait in the subscriber's mailbox for its task, and so
does everything after it, so that frames keep their order. The feed hands results out
in slices and lets the loop run between them, so a change watched by ten thousand
sockets does not hold up everything else until the last one has its frame.

A feed starts with its first subscriber and is cancelled when its last one
leaves, who waits until it has ended; a late subscriber first gets the feed's
latest result. ``SharedFeeds`` holds every feed's task and cancels what is left
at shutdown. A feed runs with a context of its own, built from the access level
in its key, never with its first subscriber's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Mapping
from contextlib import aclosing
from functools import partial
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLError
from graphql.execution import ExecutionResult
from graphql.language import FieldNode

from gencaster.tasks import TaskSet, wait_for
from gencaster.transport.execution import GraphQLRequest, format_result
from gencaster.transport.ws.streams import as_graphql_error, stream_in_task

logger = logging.getLogger(__name__)

FEED_QUEUE_SIZE = 64

# Subscribers served between two turns of the event loop while a feed publishes.
PUBLISH_SLICE = 256


# Whole frames an ``EncodedPayload`` keeps, one per distinct message head (type and id):
# most clients number their operations alike, so one text serves most sockets.
FRAMES_KEPT = 32


class EncodedPayload(dict[str, Any]):
    """A result payload together with its JSON text, encoded once for all sockets."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        self.json = json.dumps(payload, separators=(",", ":"))
        self._frames: dict[tuple[tuple[str, Any], ...], str] = {}

    def frame(self, message: Mapping[str, Any]) -> str:
        """The text of ``message`` (whose payload this is), built once per head."""
        head = tuple((key, value) for key, value in message.items() if key != "payload")
        try:
            text = self._frames.get(head)
        except TypeError:  # an unhashable head value: build it each time
            return _spliced(dict(head), self.json)
        if text is None:
            text = _spliced(dict(head), self.json)
            if len(self._frames) < FRAMES_KEPT:
                self._frames[head] = text
        return text


def _spliced(head: dict[str, Any], payload_json: str) -> str:
    return json.dumps(head)[:-1] + ', "payload": ' + payload_json + "}"


def encode_message(message: Mapping[str, Any]) -> str:
    """JSON text of a protocol message, splicing in a pre-encoded payload as is."""
    payload = message.get("payload")
    if isinstance(payload, EncodedPayload):
        return payload.frame(message)
    return json.dumps(message if isinstance(message, dict) else dict(message))


class FeedError(Exception):
    """The shared subscription failed; every subscriber ends with these errors."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        super().__init__(errors[0].message if errors else "subscription failed")
        self.errors = errors


_END = object()


FeedSource = Callable[[Any], Awaitable[Any]]
FeedContext = Callable[[Hashable], Awaitable[Any]]


Deliver = Callable[[EncodedPayload], bool]


class Mailbox:
    """What a feed has for one subscriber and it has not taken yet, at most ``FEED_QUEUE_SIZE``.

    A bounded queue that drops its oldest item when full, so a slow socket skips to the
    newest state. Thousands of subscribers each hold one, mostly empty and waiting, so it
    is a list and at most one future, not an ``asyncio.Queue`` with its event and deques.
    A result is first offered to ``deliver`` when nothing waits before it.
    """

    __slots__ = ("_deliver", "_items", "_waiter")

    def __init__(self, deliver: Deliver | None = None) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None
        self._deliver = deliver

    def put(self, item: Any) -> None:
        deliver = self._deliver
        if (
            deliver is not None
            and not self._items
            and type(item) is EncodedPayload
            and deliver(item)
        ):
            return
        if len(self._items) >= FEED_QUEUE_SIZE:
            del self._items[0]
        self._items.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def empty(self) -> bool:
        return not self._items

    def arrival(self) -> asyncio.Future[None]:
        """A future done at the next ``put``: awaited as is, without a coroutine of its own."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def take(self) -> Any:
        """The oldest item; only when not ``empty``."""
        return self._items.pop(0)


class Feed:
    """One shared execution; its task is started, held and awaited by ``SharedFeeds``."""

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.subscribers: set[Mailbox] = set()
        self.latest: EncodedPayload | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def join(self, deliver: Deliver | None = None) -> Mailbox:
        mailbox = Mailbox(deliver)
        if self.latest is not None:
            mailbox.put(self.latest)
        self.subscribers.add(mailbox)
        return mailbox

    def _publish(self, item: Any) -> None:
        for mailbox in self.subscribers:
            mailbox.put(item)

    async def _publish_in_slices(self, item: Any) -> None:
        """``_publish``, letting the loop run after every ``PUBLISH_SLICE`` subscribers.

        Subscribers who join meanwhile got ``latest`` (this item) when they joined; those
        who leave meanwhile are skipped."""
        subscribers = list(self.subscribers)
        for start in range(0, len(subscribers), PUBLISH_SLICE):
            if start:
                await asyncio.sleep(0)
            for mailbox in subscribers[start : start + PUBLISH_SLICE]:
                if mailbox in self.subscribers:
                    mailbox.put(item)

    async def run(self, source: FeedSource, context: Callable[[], Awaitable[Any]]) -> None:
        """Execute ``source`` with the feed's own context and publish each result."""
        try:
            result = await source(await context())
            if isinstance(result, ExecutionResult):
                await self._publish_result(result)
                return
            async with aclosing(stream_in_task(result)) as stream:
                async for item in stream:
                    await self._publish_result(item)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._publish(FeedError([as_graphql_error(error)]))
            return
        finally:
            self._publish(_END)

    async def _publish_result(self, result: ExecutionResult) -> None:
        if result.data is None and result.errors:
            self._publish(FeedError(list(result.errors)))
            return
        self.latest = EncodedPayload(format_result(result))
        await self._publish_in_slices(self.latest)


class SharedFeeds:
    """The feeds of one server process, by key."""

    def __init__(self, shareable_fields: frozenset[str], *, context_for: FeedContext) -> None:
        """``context_for(access)`` builds a feed's context from its subscribers' access
        level: a feed outlives its first subscriber, so it must not run as that caller."""
        self.shareable_fields = shareable_fields
        self.context_for = context_for
        self.feeds: dict[Hashable, Feed] = {}
        self._documents: dict[str, bool] = {}
        self._tasks = TaskSet()

    def can_share(self, request: GraphQLRequest) -> bool:
        """Only subscriptions whose root fields are all in ``shareable_fields``."""
        cached = self._documents.get(request.query)
        if cached is None:
            cached = self._shareable(request.query)
            if len(self._documents) < 10_000:
                self._documents[request.query] = cached
        return cached

    def _shareable(self, query: str) -> bool:
        try:
            document = parse(query)
        except GraphQLError:
            return False
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
            return False
        selections = operations[0].selection_set.selections
        return all(
            isinstance(node, FieldNode) and node.name.value in self.shareable_fields
            for node in selections
        )

    @staticmethod
    def key(request: GraphQLRequest, access: Hashable) -> Hashable:
        variables = json.dumps(request.variables or {}, sort_keys=True)
        return (request.query, variables, request.operation_name, access)

    async def follow(
        self,
        request: GraphQLRequest,
        access: Hashable,
        source: FeedSource,
        deliver: Deliver | None = None,
    ) -> AsyncGenerator[EncodedPayload, None]:
        """Results of the feed for ``request`` at ``access``, started with ``source`` if new.

        With ``deliver``, each result goes there first; only those it could not send at
        once are yielded (see ``Mailbox``)."""
        key = self.key(request, access)
        feed = self.feeds.get(key)
        if feed is None or not feed.running:
            feed = Feed(key)
            feed.task = self._tasks.start(
                feed.run(source, partial(self.context_for, access)), name="graphql-shared-feed"
            )
            self.feeds[key] = feed
        mailbox = feed.join(deliver)
        try:
            while True:
                while mailbox.empty:
                    await mailbox.arrival()
                item = mailbox.take()
                if item is _END:
                    return
                if isinstance(item, FeedError):
                    raise item
                yield item
        finally:
            feed.subscribers.discard(mailbox)
            if not feed.subscribers:
                await self._stop(feed)

    async def _stop(self, feed: Feed) -> None:
        """The last subscriber left: end the feed and wait until its resolver has cleaned up."""
        if self.feeds.get(feed.key) is feed:
            del self.feeds[feed.key]
        if feed.task is not None:
            feed.task.cancel()
            await wait_for({feed.task})

    async def close(self) -> None:
        """At shutdown: cancel every feed and wait for all of them."""
        self.feeds.clear()
        await self._tasks.cancel_all()
