"""The best-available block chooser, without a database."""

from core.reservation.allocation import Candidate, choose_block


def row(numbers, label="A", section=1, centre=10.5):
    return [Candidate(n, section, label, n, int(abs(n - centre) * 2)) for n in numbers]


def test_takes_adjacent_block_near_centre():
    seats, adjacent = choose_block(row(range(1, 21)), 2)
    assert adjacent and [s.number for s in seats] in ([10, 11], [9, 10], [11, 12])


def test_never_strands_a_single_seat_when_avoidable():
    # Free run 3..7 with 1,2 and 8.. taken: a pair at 3-4 or 6-7 leaves three, not one.
    cands = row([3, 4, 5, 6, 7])
    seats, adjacent = choose_block(cands, 2, {(1, "A"): {3, 4, 5, 6, 7}})
    nums = [s.number for s in seats]
    assert adjacent and nums in ([3, 4], [6, 7])


def test_prefers_even_remnants_for_pairs():
    free = set(range(1, 21))
    seats, _ = choose_block(row(range(1, 21)), 2, {(1, "A"): free})
    lo, hi = seats[0].number, seats[-1].number
    assert (lo - 1) % 2 == 0 and (20 - hi) % 2 == 0


def test_looks_past_the_window_edge():
    # Window holds 5..8 only, but 9 and 10 are free too: 7-8 leaves a run of two, fine.
    seats, _ = choose_block(row([5, 6, 7, 8]), 2, {(1, "A"): {5, 6, 7, 8, 9, 10}})
    assert [s.number for s in seats] != [6, 7]  # 6-7 would strand 5


def test_falls_back_to_best_seats_when_nothing_adjacent():
    cands = row([1, 3, 5, 7])
    seats, adjacent = choose_block(cands, 2)
    assert not adjacent and len(seats) == 2


def test_not_enough_candidates():
    assert choose_block(row([1]), 2) == ([], False)
    assert choose_block([], 1) == ([], False)
