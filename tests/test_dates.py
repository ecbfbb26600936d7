from datetime import date

import pytest

from extractors.dates import parse_date, prefix_start
from schemas.records import DateRange

REF = date(2020, 6, 1)  # edition June 2020
D = date


@pytest.mark.parametrize(
    "text, start, end, qualifier",
    [
        # months
        ("July 2016", D(2016, 7, 1), D(2016, 7, 31), None),
        ("December 2018", D(2018, 12, 1), D(2018, 12, 31), None),
        ("Dec. 2018", D(2018, 12, 1), D(2018, 12, 31), None),
        ("Sept. 2017", D(2017, 9, 1), D(2017, 9, 30), None),
        ("July of 2016", D(2016, 7, 1), D(2016, 7, 31), None),
        ("in February 2020", D(2020, 2, 1), D(2020, 2, 29), None),
        # days
        ("3 March 2020", D(2020, 3, 3), D(2020, 3, 3), None),
        ("March 3, 2020", D(2020, 3, 3), D(2020, 3, 3), None),
        ("3rd March 2020", D(2020, 3, 3), D(2020, 3, 3), None),
        ("the 1st of March 2020", D(2020, 3, 1), D(2020, 3, 1), None),
        ("on 21 November 2019", D(2019, 11, 21), D(2019, 11, 21), None),
        ("2020-03-03", D(2020, 3, 3), D(2020, 3, 3), None),
        # years and decades
        ("2018", D(2018, 1, 1), D(2018, 12, 31), None),
        ("in 2018", D(2018, 1, 1), D(2018, 12, 31), None),
        ("the year 2018", D(2018, 1, 1), D(2018, 12, 31), None),
        ("2010s", D(2010, 1, 1), D(2019, 12, 31), None),
        ("the 1990s", D(1990, 1, 1), D(1999, 12, 31), None),
        # ranges
        ("2019-2022", D(2019, 1, 1), D(2022, 12, 31), None),
        ("2019\u20132022", D(2019, 1, 1), D(2022, 12, 31), None),
        ("2019/20", D(2019, 1, 1), D(2020, 12, 31), None),
        ("2019/2020", D(2019, 1, 1), D(2020, 12, 31), None),
        ("1999-01", D(1999, 1, 1), D(2001, 12, 31), None),
        ("between 2020 and 2024", D(2020, 1, 1), D(2024, 12, 31), None),
        ("from 2020 to 2024", D(2020, 1, 1), D(2024, 12, 31), None),
        ("2020 to 2024", D(2020, 1, 1), D(2024, 12, 31), None),
        ("July 2016 to March 2018", D(2016, 7, 1), D(2018, 3, 31), None),
        ("March-May 2019", D(2019, 3, 1), D(2019, 5, 31), None),
        ("November-February 2019", D(2018, 11, 1), D(2019, 2, 28), None),
        ("3-5 March 2020", D(2020, 3, 3), D(2020, 3, 5), None),
        ("March 3-5, 2020", D(2020, 3, 3), D(2020, 3, 5), None),
        ("from mid-2018 to late 2020", D(2018, 5, 1), D(2020, 12, 31), None),
        # parts of a year, month or decade
        ("late 2018", D(2018, 9, 1), D(2018, 12, 31), "late"),
        ("early 2018", D(2018, 1, 1), D(2018, 4, 30), "early"),
        ("mid 2018", D(2018, 5, 1), D(2018, 8, 31), "mid"),
        ("mid-2018", D(2018, 5, 1), D(2018, 8, 31), "mid"),
        ("mid\u20112018", D(2018, 5, 1), D(2018, 8, 31), "mid"),  # non-breaking hyphen
        ("end of 2018", D(2018, 9, 1), D(2018, 12, 31), "late"),
        ("the end of 2018", D(2018, 9, 1), D(2018, 12, 31), "late"),
        ("beginning of 2018", D(2018, 1, 1), D(2018, 4, 30), "early"),
        ("the first half of 2019", D(2019, 1, 1), D(2019, 6, 30), "first half"),
        ("the second half of 2019", D(2019, 7, 1), D(2019, 12, 31), "second half"),
        ("the third quarter of 2019", D(2019, 7, 1), D(2019, 9, 30), "third quarter"),
        ("spring 2019", D(2019, 3, 1), D(2019, 5, 31), "spring"),
        ("summer 2019", D(2019, 6, 1), D(2019, 8, 31), "summer"),
        ("autumn 2019", D(2019, 9, 1), D(2019, 11, 30), "autumn"),
        ("winter 2019", D(2019, 12, 1), D(2020, 2, 29), "winter"),
        ("early March 2019", D(2019, 3, 1), D(2019, 3, 10), "early"),
        ("mid-March 2019", D(2019, 3, 11), D(2019, 3, 20), "mid"),
        ("the end of March 2019", D(2019, 3, 21), D(2019, 3, 31), "late"),
        ("the early 2010s", D(2010, 1, 1), D(2013, 12, 31), "early"),
        # since / by / until
        ("since 2016", D(2016, 1, 1), D(2020, 6, 30), "since"),
        ("since late 2018", D(2018, 9, 1), D(2020, 6, 30), "since"),
        ("2018 onwards", D(2018, 1, 1), D(2020, 6, 30), "since"),
        ("by 2024", D(2024, 1, 1), D(2024, 12, 31), "by"),
        ("until 2024", D(2024, 1, 1), D(2024, 12, 31), "until"),
        ("by the end of 2024", D(2024, 9, 1), D(2024, 12, 31), "by"),
        # relative to the edition
        ("the last two years", D(2018, 6, 1), D(2020, 6, 30), "relative"),
        ("in the last two years", D(2018, 6, 1), D(2020, 6, 30), "relative"),
        ("over the past three years", D(2017, 6, 1), D(2020, 6, 30), "relative"),
        ("the last 12 months", D(2019, 6, 1), D(2020, 6, 30), "relative"),
        ("the last twelve months", D(2019, 6, 1), D(2020, 6, 30), "relative"),
        ("the past twenty years", D(2000, 6, 1), D(2020, 6, 30), "relative"),
        ("the past year", D(2019, 6, 1), D(2020, 6, 30), "relative"),
        ("last year", D(2019, 1, 1), D(2019, 12, 31), "relative"),
        ("this year", D(2020, 1, 1), D(2020, 12, 31), "relative"),
        ("next year", D(2021, 1, 1), D(2021, 12, 31), "relative"),
        ("last month", D(2020, 5, 1), D(2020, 5, 31), "relative"),
        ("two years ago", D(2018, 1, 1), D(2018, 12, 31), "relative"),
        ("twenty-five years ago", D(1995, 1, 1), D(1995, 12, 31), "relative"),
        ("a decade ago", D(2010, 1, 1), D(2010, 12, 31), "relative"),
        ("today", D(2020, 6, 1), D(2020, 6, 30), "relative"),
        ("the end of this year", D(2020, 9, 1), D(2020, 12, 31), "late"),
        ("since last year", D(2019, 1, 1), D(2020, 6, 30), "since"),
        # day and month without a year take the edition's year
        ("3 March", D(2020, 3, 3), D(2020, 3, 3), None),
        ("March 3", D(2020, 3, 3), D(2020, 3, 3), None),
        # a year inside text that is not a date expression
        ("the 2018 Brussels Summit", D(2018, 1, 1), D(2018, 12, 31), None),
        ("the July 2018 Brussels Summit", D(2018, 7, 1), D(2018, 7, 31), None),
        ("2014, 2016 and 2018", D(2014, 1, 1), D(2018, 12, 31), None),
    ],
)
def test_parse_date(text: str, start: date, end: date, qualifier: str | None) -> None:
    assert parse_date(text, REF) == DateRange(start, end, qualifier)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("July 2016", DateRange(D(2016, 7, 1), D(2016, 7, 31))),
        ("late 2018", DateRange(D(2018, 9, 1), D(2018, 12, 31), "late")),
        ("since 2016", DateRange(D(2016, 1, 1), D(2016, 12, 31), "since")),
        ("by 2024", DateRange(D(2024, 1, 1), D(2024, 12, 31), "by")),
        ("2019/20", DateRange(D(2019, 1, 1), D(2020, 12, 31))),
        ("3 March", None),
        ("March 3", None),
        ("the last two years", None),
        ("last year", None),
        ("this year", None),
        ("next year", None),
        ("two years ago", None),
        ("today", None),
    ],
)
def test_parse_date_without_reference(text: str, expected: DateRange | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "annual",
        "annually",
        "several times a year",
        "daily",
        "weekly",
        "regularly",
        "a year",
        "each year",
        "every year",
        "two years",
        "recent years",
        "in recent years",
        "the past few years",
        "the coming years",
        "the last years",
        "",
        "   ",
        "2",
    ],
)
def test_not_a_date_range(text: str) -> None:
    assert parse_date(text, REF) is None


def test_invalid_day_keeps_the_month() -> None:
    assert parse_date("31 February 2020", REF) == DateRange(D(2020, 2, 1), D(2020, 2, 29))


def test_programming_errors() -> None:
    with pytest.raises(ValueError, match="None"):
        parse_date(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2020"):
        parse_date("2018", "2020-06-01")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, date_text, widened",
    [
        ("deployed since June 1999 under", "June 1999", "since June 1999"),
        ("Since 2014, Allies", "2014", "Since 2014"),
        ("ever since 2014", "2014", "ever since 2014"),
        ("operational by 2028.", "2028", "by 2028"),
        ("valid until 2030", "2030", "until 2030"),
        ("prior to 2019", "2019", "prior to 2019"),
        ("in 2014", "2014", "2014"),  # "in" qualifies nothing
        ("the 2018 summit", "2018", "2018"),
        ("Abby 2019", "2019", "2019"),  # "by" inside a word
    ],
)
def test_prefix_start(text, date_text, widened):
    start = text.index(date_text)
    assert text[prefix_start(text, start) : start + len(date_text)] == widened
