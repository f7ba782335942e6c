"""The best-available allocation moved into the database (bo_choose_block, migration
0015) must choose exactly what core.reservation.allocation.choose_block chooses: the same
block, the same adjacency, for random windows of free seats with and without the row's
wider free set (seeded, so a failure reproduces)."""

from __future__ import annotations

import random

from sqlalchemy import text

from core.reservation.allocation import Candidate, choose_block

_CALL = text(
    "select seat_ids, adjacent from bo_choose_block("
    " (select coalesce(array_agg(row(c.seat_id, c.section_id, c.row_label, c.num, c.q,"
    "  c.ord)::bo_seat_candidate order by c.ord), '{}')"
    "  from jsonb_to_recordset(cast(:cands as jsonb)) as c(seat_id bigint, section_id int,"
    "  row_label text, num int, q int, ord int)),"
    " :k,"
    " (select array_agg(row(f.section_id, f.row_label, f.free)::bo_row_free)"
    "  from jsonb_to_recordset(cast(:free as jsonb)) as f(section_id int, row_label text,"
    "  free int[])))"
)


def _case(rng: random.Random) -> tuple[list[Candidate], int, dict | None]:
    rows = rng.choice([["A"], ["A", "B"], ["A", "B", "C"]])
    sections = rng.choice([[1], [1, 2]])
    seats = [(s, r, n) for s in sections for r in rows for n in range(1, 13)]
    free_all = [x for x in seats if rng.random() < 0.6]
    window = rng.sample(free_all, min(len(free_all), rng.randint(0, 16)))
    cands = [Candidate(1000 * s + 100 * (ord(r) - 64) + n, s, r, n,
                       (ord(r) - 64) * 1000 + abs(2 * n - 13) + rng.choice([0, 0, 5]))
             for s, r, n in window]
    cands.sort(key=lambda c: (c.quality_rank, c.seat_id))
    free = None
    if rng.random() < 0.7:
        free = {}
        for s, r, n in free_all:
            if any(c.section_id == s and c.row_label == r for c in cands):
                free.setdefault((s, r), set()).add(n)
    return cands, rng.randint(1, 5), free


def test_database_allocation_matches_the_python_one(ctx):
    import json

    rng = random.Random(16)
    with ctx.engine.connect() as conn:
        for _ in range(400):
            cands, k, free = _case(rng)
            want, want_adj = choose_block(cands, k, free)
            row = conn.execute(_CALL, {
                "cands": json.dumps([{"seat_id": c.seat_id, "section_id": c.section_id,
                                      "row_label": c.row_label, "num": c.number,
                                      "q": c.quality_rank, "ord": i + 1}
                                     for i, c in enumerate(cands)]),
                "k": k,
                "free": None if free is None else json.dumps(
                    [{"section_id": s, "row_label": r, "free": sorted(ns)}
                     for (s, r), ns in free.items()])}).one()
            got = sorted(row.seat_ids or [])
            assert got == sorted(c.seat_id for c in want), (cands, k, free)
            assert bool(row.adjacent) == want_adj or not want, (cands, k, free)
