"""The batch SQL helpers: IN lists in chunks, and "every school" without an IN list."""

from __future__ import annotations

from sqlalchemy import column

from db.sql import chunks, school_groups, within


def test_id_lists_are_cut_into_chunks_of_900() -> None:
    assert [len(c) for c in chunks(list(range(1801)))] == [900, 900, 1]
    assert list(chunks([1, 2, 3], 2)) == [[1, 2], [3]]
    assert [len(g or []) for g in school_groups(list(range(1801)))] == [900, 900, 1]
    assert school_groups([5, 6, 7, 8, 9], 2) == [[5, 6], [7, 8], [9]]
    assert school_groups(None) == [None]


def test_within_is_an_in_list_or_no_condition_for_every_row() -> None:
    assert str(within(column("school_id"), [1, 2]).compile(compile_kwargs={"literal_binds": True})) == (
        "school_id IN (1, 2)"
    )
    assert str(within(column("school_id"), None)) == "true"
