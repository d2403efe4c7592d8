"""Small pieces of `Marketplace`'s cache of committed states: the highest version seen per aggregate,
and whether an LRU cache holds an aggregate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache


class Versions:
    """The highest committed version this process has seen, per aggregate (bounded, least recently used out)."""

    def __init__(self, maxsize: int):
        self._cache: LRUCache[UUID, int] = LRUCache(maxsize=maxsize)

    def get(self, uuid: UUID, default: int) -> int:
        try:
            return self._cache.get(uuid)
        except KeyError:
            return default

    def put(self, uuid: UUID, version: int) -> None:
        self._cache.put(uuid, version)


def holds(cache: LRUCache[UUID, Any], uuid: UUID) -> bool:
    try:
        cache.get(uuid)
    except KeyError:
        return False
    return True
