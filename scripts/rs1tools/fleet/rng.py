"""Seeded randomness: the same seed gives the same fleet, faults and traffic."""

import random


def seeded(*parts: object) -> random.Random:
    """A Random seeded from a string (stable across runs, unlike hash())."""
    return random.Random(":".join(map(str, parts)))  # noqa: S311 — simulation, not secrets
