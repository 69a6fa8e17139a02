"""A bounded store of things made once and used again: the least recently used forgotten first,
safe to share between the threads of a web process. Kept list rows (core.fragments) and kept SQL
statements (core.statements) are two of them."""
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class Kept:
    """At most `size` things, each made by `make()` the first time its key is asked for; `size` 0
    keeps nothing (each is made every time)."""

    def __init__(self, size: int):
        self.size = size
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if self.size <= 0:
            return make()
        with self._lock:
            thing = self._kept.get(key)
            if thing is not None:
                self._kept.move_to_end(key)
                return thing
        thing = make()  # made outside the lock: two threads may make the same thing, both alike
        with self._lock:
            self._kept[key] = thing
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return thing

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
