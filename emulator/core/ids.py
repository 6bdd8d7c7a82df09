"""Identifiers: GUIDs and random tokens, seedable so a run with ``--seed`` repeats exactly."""

from __future__ import annotations

import random
import string
import uuid

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


class IdFactory:
    def __init__(self, seed: int | None = None) -> None:
        self._random: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()

    def guid(self) -> str:
        """A random RFC 4122 version-4 GUID, 36 characters."""
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def token(self, length: int = 32) -> str:
        return "".join(self._random.choice(BASE62) for _ in range(length))

    def digits(self, length: int) -> str:
        return "".join(self._random.choice(string.digits) for _ in range(length))

    def randint(self, low: int, high: int) -> int:
        return self._random.randint(low, high)


def base62(number: int) -> str:
    if number < 0:
        raise ValueError("base62 of a negative number")
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 62)
        out.append(BASE62[rest])
    return "".join(reversed(out))
