"""Choosing k seats from a window of free candidates: adjacent in one row when possible,
never leaving a single orphan seat where avoidable. Pure functions, no database.

``SKIP LOCKED ... LIMIT`` returns the best unlocked seats, which need not be adjacent,
so adjacency and orphan avoidance are decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ORPHAN_PENALTY = 1_000_000


@dataclass(frozen=True, slots=True)
class Candidate:
    seat_id: int
    section_id: int
    row_label: str
    number: int
    quality_rank: int


def runs(cands: Sequence[Candidate]) -> list[list[Candidate]]:
    """Maximal runs of consecutive seat numbers in the same section and row."""
    by_row: dict[tuple[int, str], list[Candidate]] = {}
    for c in cands:
        by_row.setdefault((c.section_id, c.row_label), []).append(c)
    out: list[list[Candidate]] = []
    for seats in by_row.values():
        seats.sort(key=lambda c: c.number)
        run = [seats[0]]
        for c in seats[1:]:
            if c.number == run[-1].number + 1:
                run.append(c)
            else:
                out.append(run)
                run = [c]
        out.append(run)
    return out


def choose_block(cands: Sequence[Candidate], k: int) -> tuple[list[Candidate], bool]:
    """Return (seats, adjacent). Prefers the adjacent block with the best total quality
    that leaves no single seat stranded on either side of it inside its run."""
    if k <= 0 or len(cands) < k:
        return [], False
    best: tuple[int, list[Candidate]] | None = None
    for run in runs(cands):
        n = len(run)
        for start in range(n - k + 1):
            left, right = start, n - k - start
            block = run[start:start + k]
            score = sum(c.quality_rank for c in block)
            if left == 1:
                score += ORPHAN_PENALTY
            if right == 1:
                score += ORPHAN_PENALTY
            if best is None or score < best[0]:
                best = (score, block)
    if best is not None:
        return best[1], True
    # No adjacent block: the k best seats, grouped by row so a party sits as close as it can.
    ranked = sorted(cands, key=lambda c: c.quality_rank)[:k]
    ranked.sort(key=lambda c: (c.section_id, c.row_label, c.number))
    return ranked, k == 1
