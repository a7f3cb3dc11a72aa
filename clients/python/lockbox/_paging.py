"""Paged list methods as iterators over their items: :class:`Pager` and :class:`AsyncPager`."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Generic, Iterator, Optional, TypeVar

from google.protobuf.message import Message

from ._method import MethodInfo

T = TypeVar("T")
R = TypeVar("R")


def _next_request(method: MethodInfo, request: Message, page: Message) -> Optional[Message]:
    paging = method.paging
    assert paging is not None
    if paging.kind == "token":
        token = page.next_page_token
        if not token:
            return None
        following = type(request)()
        following.CopyFrom(request)
        following.page_token = token
        return following
    items = getattr(page, paging.items_field)
    if not items:
        return None
    following = type(request)()
    following.CopyFrom(request)
    setattr(following, paging.cursor_field, getattr(items[-1], paging.item_cursor_field))
    return following


class Pager(Generic[T, R]):
    """The first page of a list call, and an iterator over every item of every page.

    ``for item in pager`` yields the items (``requests``, ``records``, ...) of the first page,
    then fetches the next page with the same filters when needed. ``pager.pages()`` yields
    whole responses. ``pager.response`` is the first page, and its fields can be read on the
    pager itself (``pager.next_page_token``).
    """

    def __init__(self, method: MethodInfo, request: Message, first: R, fetch: Callable[[Message], R]):
        self._method = method
        self._request = request
        self._first = first
        self._fetch = fetch

    @property
    def response(self) -> R:
        """The first page."""
        return self._first

    def pages(self) -> Iterator[R]:
        """Every page, the first one first, fetching each next one when asked for it."""
        request, page = self._request, self._first
        while True:
            yield page
            following = _next_request(self._method, request, page)
            if following is None:
                return
            request, page = following, self._fetch(following)

    def __iter__(self) -> Iterator[T]:
        items_field = self._method.paging.items_field  # type: ignore[union-attr]
        for page in self.pages():
            yield from getattr(page, items_field)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._first, name)

    def __repr__(self) -> str:
        return "<Pager %s first page: %d items>" % (
            self._method.name,
            len(getattr(self._first, self._method.paging.items_field)),  # type: ignore[union-attr]
        )


class AsyncPager(Generic[T, R]):
    """The async twin of :class:`Pager`: ``async for item in pager``, ``async for page in pager.pages()``."""

    def __init__(self, method: MethodInfo, request: Message, first: R, fetch: Callable[[Message], Awaitable[R]]):
        self._method = method
        self._request = request
        self._first = first
        self._fetch = fetch

    @property
    def response(self) -> R:
        return self._first

    async def pages(self) -> AsyncIterator[R]:
        request, page = self._request, self._first
        while True:
            yield page
            following = _next_request(self._method, request, page)
            if following is None:
                return
            request, page = following, await self._fetch(following)

    async def _items(self) -> AsyncIterator[T]:
        items_field = self._method.paging.items_field  # type: ignore[union-attr]
        async for page in self.pages():
            for item in getattr(page, items_field):
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._first, name)

    def __repr__(self) -> str:
        return "<AsyncPager %s first page: %d items>" % (
            self._method.name,
            len(getattr(self._first, self._method.paging.items_field)),  # type: ignore[union-attr]
        )
