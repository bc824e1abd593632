"""Suppressed counts of cases: primary and secondary suppression leave no hidden cell recomputable."""

from __future__ import annotations

import itertools
import random

from ingest.stats.counts import DIMENSIONS, TOTAL, count, suppress


def cases(spec: dict[tuple, int], by: list[str]) -> list[dict]:
    """Build register rows: `spec` maps a value per dimension to how many cases have them."""
    rows = []
    for values, n in spec.items():
        rows += [{DIMENSIONS[d].column: v for d, v in zip(by, values)} for _ in range(n)]
    return rows


def recomputable(table) -> list[tuple]:
    """Return hidden cells that a line's total and its shown cells give away (the attack suppression stops)."""
    found = []
    dims = [DIMENSIONS[name] for name in table.by]
    axes = [sorted({key[i] for key in table.counts}) for i in range(len(dims))]
    for i, dimension in enumerate(dims):
        if dimension.multiple:
            continue
        for others in itertools.product(*(axes[:i] + axes[i + 1 :])):
            line = [others[:i] + (value,) + others[i:] for value in axes[i]]
            hidden = [key for key in line if key in table.hidden]
            if len(hidden) == 1:
                found.append(hidden[0])
    return found


def test_one_small_cell_in_a_list_hides_the_next_smallest_too():
    table = suppress(count(cases({("01",): 20, ("05",): 5, ("07",): 30}, ["province"]), ["province"]))
    assert table.hidden == {("05",): "primary", ("01",): "secondary"}
    assert table.shown((TOTAL,)) == 55 and table.shown(("07",)) == 30


def test_a_naive_table_would_leak_a_cell_through_its_row_and_column_totals():
    by = ["province", "gender"]
    table = count(cases({("01", "Female"): 3, ("01", "Male"): 20, ("05", "Female"): 15, ("05", "Male"): 25}, by), by)
    naive = {k: n for k, n in table.counts.items() if not 0 < n < 11}
    # Hiding only the small cell: the province 01 total minus its men gives the 3 women back.
    assert naive[("01", TOTAL)] - naive[("01", "Male")] == 3
    suppress(table)
    assert table.hidden[("01", "Female")] == "primary"
    assert recomputable(table) == []
    assert table.shown((TOTAL, TOTAL)) == 63


def test_dimensions_where_a_case_counts_several_times_need_no_secondary_suppression():
    rows = [{"exploitation_types": "ForcedLabour SexualExploitation"}] * 3 + [
        {"exploitation_types": "ForcedLabour"}
    ] * 20
    table = suppress(count(rows, ["exploitation_type"]))
    assert table.counts[(TOTAL,)] == 23  # cases, not the sum of the cells (26)
    assert table.hidden == {("SexualExploitation",): "primary"}


def test_a_several_valued_dimension_whose_cells_add_up_is_suppressed_like_any_other():
    # Every case has one type only: the total (shown on every chart of the dashboard) minus the forced labour
    # would give the 3 cases of sexual exploitation back, so forced labour is hidden too.
    rows = [{"exploitation_types": "SexualExploitation"}] * 3 + [{"exploitation_types": "ForcedLabour"}] * 20
    table = suppress(count(rows, ["exploitation_type"]))
    assert table.hidden == {("SexualExploitation",): "primary", ("ForcedLabour",): "secondary"}
    assert table.shown((TOTAL,)) == 23


def test_random_tables_never_leave_a_hidden_cell_recomputable():
    rng = random.Random(8)
    for _ in range(300):
        by = rng.sample(["province", "gender", "age_band", "trafficking_status"], rng.randint(1, 3))
        values = {d: [f"{d[:1]}{i}" for i in range(rng.randint(1, 4))] for d in by}
        spec = {
            key: rng.choice([0, 0, 1, 2, 5, 9, 10, 11, 12, 30, 100])
            for key in itertools.product(*(values[d] for d in by))
        }
        table = suppress(count(cases(spec, by), by), threshold=11)
        assert all(key in table.hidden for key, n in table.counts.items() if 0 < n < 11)
        assert recomputable(table) == [], (by, spec)


def test_tables_that_share_their_totals_hide_the_same_ones():
    # The dashboard's tables: by gender and by age band, each by year and province too; they share the
    # (year, province) totals. Whatever one hides to protect a cell, the other must not show.
    from ingest.stats.counts import suppress_together

    rng = random.Random(18)
    for _ in range(60):
        rows = [
            {
                "gender": rng.choice(["F", "M", "X"]),
                "age_band": rng.choice(["a", "b", "c", "d"]),
                "province_code": rng.choice(["01", "05", "07"]),
                "first_date": rng.choice(["2024-01-01", "2025-01-01"]),
            }
            for _ in range(rng.randint(5, 90))
        ]
        tables = [suppress(count(rows, [d, "year", "province"])) for d in ("gender", "age_band")]
        shared = lambda key: (key[1], key[2]) if key[0] == TOTAL else None  # noqa: E731
        suppress_together([(t, shared) for t in tables])
        hidden = [{shared(k) for k in t.hidden} - {None} for t in tables]
        assert hidden[0] == hidden[1]
        for table in tables:
            assert all(key in table.hidden for key, n in table.counts.items() if 0 < n < 11)
            assert recomputable(table) == []


def test_a_shared_total_hidden_by_one_table_is_hidden_by_the_other():
    from ingest.stats.counts import Table, suppress_together

    counts = {("01",): 20, ("05",): 30, ("07",): 40, (TOTAL,): 90}
    hiding = Table(by=["province"], counts=dict(counts), hidden={("01",): "secondary", ("05",): "secondary"})
    showing = Table(by=["province"], counts=dict(counts))
    suppress_together([(hiding, lambda key: key), (showing, lambda key: key)])
    assert set(showing.hidden) == {("01",), ("05",)} and showing.shown((TOTAL,)) == 90
