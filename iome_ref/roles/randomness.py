"""The seeded random sources roles accept: roles never read os.urandom or a clock.

Either a ``random.Random`` or a numpy ``Generator``: one seed then determines every key,
nonce and noise a run draws, so a simulation replays byte for byte.
"""

from __future__ import annotations

import random

import numpy as np

__all__ = ["RandomSource", "as_generator", "random_bytes"]

RandomSource = random.Random | np.random.Generator


def random_bytes(rng: RandomSource, n: int) -> bytes:
    """``n`` bytes from the caller's seeded source."""
    if isinstance(rng, np.random.Generator):
        return rng.bytes(n)
    return rng.randbytes(n)


def as_generator(rng: RandomSource) -> np.random.Generator:
    """A numpy Generator drawing from ``rng``: itself, or one seeded by 64 bits of a Random.

    Roles draw vectors (hourly noise, forecast errors) with numpy; accepting ``random.Random``
    too keeps one seeded source usable across roles, and the result stays seed-determined.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng.getrandbits(64))
