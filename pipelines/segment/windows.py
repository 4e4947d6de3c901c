"""Dense windows over a long recording: every span of a few durations, at a fixed hop.

Where no detector can be trusted to cut words, every window is embedded and searched; a hit is
then a window, and overlapping hits are merged afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from seqae.errors import SeqaeError

DURATIONS = (0.4, 0.6, 0.8)
HOP = 0.1


def window_spans(
    duration: float, durations: Sequence[float] = DURATIONS, hop: float = HOP
) -> Iterator[tuple[float, float]]:
    """(start, end) of every window of each length in ``durations`` that fits in ``duration``
    seconds, starting every ``hop`` seconds; in order of start, then length."""
    if hop <= 0 or not durations or min(durations) <= 0:
        raise SeqaeError(f"windows need a positive hop and durations, not {hop}, {durations}")
    steps = int((duration - min(durations)) / hop + 1e-9) + 1 if duration >= min(durations) else 0
    for step in range(steps):
        start = round(step * hop, 6)
        for length in sorted(durations):
            if start + length <= duration + 1e-9:
                yield start, round(start + length, 6)
