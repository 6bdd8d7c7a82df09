"""Identifiers: GUIDs and random tokens, seedable so a run with ``--seed`` repeats exactly."""

from __future__ import annotations

import random
import string
import uuid

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BASE36 = string.digits + string.ascii_uppercase


class IdFactory:
    """Random ids; with a seed, the same sequence for the same seed and ``generation``.

    ``generation`` counts the starts of the sandbox on one database: a seeded sandbox restarted on
    its file continues with a new sequence instead of repeating the ids (and invoice file names)
    it already handed out.
    """

    def __init__(self, seed: int | None = None, generation: int = 0) -> None:
        self._random: random.Random
        if seed is None:
            self._random = random.SystemRandom()
        else:
            self._random = random.Random(seed if generation == 0 else f"{seed}/{generation}")

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
    return _encode(number, BASE62)


def base36(number: int) -> str:
    """Digits and upper-case letters: distinct numbers stay distinct when case is ignored (the SDI
    compares file names without case)."""
    return _encode(number, BASE36)


def _encode(number: int, alphabet: str) -> str:
    if number < 0:
        raise ValueError("cannot encode a negative number")
    if number == 0:
        return alphabet[0]
    out = []
    while number:
        number, rest = divmod(number, len(alphabet))
        out.append(alphabet[rest])
    return "".join(reversed(out))
