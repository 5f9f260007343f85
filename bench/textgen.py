"""Realistic, reproducible task text for benchmarks and tests (no Django needed)."""

import random

WORDS = [
    "the",
    "model",
    "answered",
    "with",
    "a",
    "careful",
    "summary",
    "of",
    "the",
    "patient",
    "history",
    "and",
    "noted",
    "that",
    "further",
    "review",
    "of",
    "the",
    "contract",
    "clause",
    "is",
    "needed",
    "before",
    "the",
    "function",
    "returns",
    "a",
    "value",
    "while",
    "the",
    "reviewer",
    "flagged",
    "the",
    "tone",
    "as",
    "overly",
    "confident",
    "about",
    "dosage",
]


def sentence(rng: random.Random, low: int = 200, high: int = 400) -> str:
    """Text of ``low`` to ``high`` characters, the same for the same generator state."""
    target = rng.randint(low, high)
    words: list[str] = []
    length = 0
    while length < target:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:target]
