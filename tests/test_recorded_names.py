"""Reading a recorded name as workers type it: title, given names and surname, in any order."""

from __future__ import annotations

import pytest

from stories.recorded_names import order_doubt, read_name, split_names


@pytest.mark.parametrize(
    ("written", "first", "credit", "parts"),
    [
        ("Margaret Holt", "Margaret", "Margaret Holt", ["Margaret", "Holt"]),
        ("Holt, Margaret", "Margaret", "Margaret Holt", ["Margaret", "Holt"]),
        ("HOLT Margaret", "Margaret", "Margaret Holt", ["Margaret", "Holt"]),
        ("Margaret HOLT", "Margaret", "Margaret Holt", ["Margaret", "Holt"]),
        ("Mrs Margaret Holt", "Margaret", "Mrs Margaret Holt", ["Margaret", "Holt"]),
        ("Mrs Holt", None, "Mrs Holt", ["Holt"]),
        ("Jean-Paul van der Berg", "Jean-Paul", "Jean-Paul van der Berg", ["Jean-Paul", "Berg"]),
        ("van der Berg, Jean-Paul", "Jean-Paul", "Jean-Paul van der Berg", ["Jean-Paul", "Berg"]),
        ("O'NEILL, Siobhán", "Siobhán", "Siobhán O'Neill", ["Siobhán", "O'Neill"]),
        ("Ben Smith", "Ben", "Ben Smith", ["Ben", "Smith"]),  # "ben" is a particle only inside a name
        ("Mags", "Mags", "Mags", ["Mags"]),
    ],
)
def test_a_name_is_read_whichever_way_it_was_typed(written, first, credit, parts):
    name = read_name(written)
    assert (name.first, name.credit, name.parts) == (first, credit, parts)


def test_the_field_splits_on_semicolons_and_reads_one_comma_as_surname_first():
    assert split_names("Holt, Margaret") == ["Holt, Margaret"]
    assert split_names("Holt, Margaret; Maggie") == ["Holt, Margaret", "Maggie"]
    assert split_names("Margaret Holt, Maggie") == ["Margaret Holt", "Maggie"]  # commas between full names, as before
    assert split_names(["Margaret Holt", " Maggie "]) == ["Margaret Holt", "Maggie"]


def test_only_a_name_whose_order_cannot_be_told_is_asked_about():
    assert "is Patel the surname?" in order_doubt("Patel Priya")
    assert "is Maggie the surname?" in order_doubt("Maggie, Mags")
    for clear in ("Priya Patel", "Patel, Priya", "PATEL Priya", "Smith John", "Margaret Holt"):
        assert order_doubt(clear) is None, clear
