"""Choosing k seats from a window of free candidates: adjacent in one row when possible,
never leaving a single orphan seat where avoidable. Pure functions, no database.

``SKIP LOCKED ... LIMIT`` returns the best unlocked seats, which need not be adjacent,
so adjacency and orphan avoidance are decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ORPHAN_PENALTY = 1_000_000
# Pairs are the commonest party: a block that leaves an odd free run beside it will
# strand a single seat later. Smaller than a row step (1000) so quality still leads.
ODD_REMNANT_PENALTY = 40


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


def choose_block(cands: Sequence[Candidate], k: int,
                 free: dict[tuple[int, str], set[int]] | None = None,
                 ) -> tuple[list[Candidate], bool]:
    """Return (seats, adjacent). Prefers the adjacent block with the best total quality
    that leaves no single free seat stranded beside it.

    ``free`` maps (section, row) to the seat numbers known to be free in the room (the
    window plus its neighbours); without it, the window's own runs are taken as the truth.
    """
    if k <= 0 or len(cands) < k:
        return [], False
    if free is None:
        free = {}
        for c in cands:
            free.setdefault((c.section_id, c.row_label), set()).add(c.number)
    best: tuple[int, list[Candidate]] | None = None
    for run in runs(cands):
        row_free = free.get((run[0].section_id, run[0].row_label), set())
        for start in range(len(run) - k + 1):
            block = run[start:start + k]
            lo, hi = block[0].number, block[-1].number
            score = sum(c.quality_rank for c in block)
            for remnant in (_free_run(row_free, lo - 1, -1), _free_run(row_free, hi + 1, 1)):
                if remnant == 1:
                    score += ORPHAN_PENALTY
                elif remnant % 2:
                    score += ODD_REMNANT_PENALTY
            if best is None or score < best[0]:
                best = (score, block)
    if best is not None:
        return best[1], True
    # No adjacent block: the k best seats, grouped by row so a party sits as close as it can.
    ranked = sorted(cands, key=lambda c: c.quality_rank)[:k]
    ranked.sort(key=lambda c: (c.section_id, c.row_label, c.number))
    return ranked, k == 1


def _free_run(free: set[int], start: int, step: int) -> int:
    """How many free seats in a row, from ``start`` walking by ``step``."""
    n = 0
    while start + n * step in free:
        n += 1
    return n
