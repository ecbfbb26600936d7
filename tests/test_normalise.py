"""Normalisation (``extractors.normalise``): amounts, then dates.


"""

from datetime import date

import pytest

from extractors.normalise import money_extent, parse_amount, parse_date, parse_number, prefix_start, qualifier_start
from schemas.records import Amount, DateRange


@pytest.mark.parametrize(
    "text, value, unit",
    [
        # currencies, before or after, symbol, code or word
        ("2 million EUR", 2_000_000.0, "EUR"),
        ("EUR 2 million", 2_000_000.0, "EUR"),
        ("€2 million", 2_000_000.0, "EUR"),
        ("€ 1.5bn", 1_500_000_000.0, "EUR"),
        ("1.5 billion euros", 1_500_000_000.0, "EUR"),
        ("1.5bn euro", 1_500_000_000.0, "EUR"),
        ("$3 million", 3_000_000.0, "USD"),
        ("US$3m", 3_000_000.0, "USD"),
        ("3 million US dollars", 3_000_000.0, "USD"),
        ("USD 3 million", 3_000_000.0, "USD"),
        ("£5m", 5_000_000.0, "GBP"),
        ("CHF 10 million", 10_000_000.0, "CHF"),
        ("NOK 250 million", 250_000_000.0, "NOK"),
        ("CAD 1.2 billion", 1_200_000_000.0, "CAD"),
        ("5 million Canadian dollars", 5_000_000.0, "CAD"),
        ("€500k", 500_000.0, "EUR"),
        ("EUR 2 mn", 2_000_000.0, "EUR"),
        ("$1 trillion", 1e12, "USD"),
        ("$1tn", 1e12, "USD"),
        ("a million euros", 1_000_000.0, "EUR"),
        # percent
        ("25%", 25.0, "percent"),
        ("25 %", 25.0, "percent"),
        ("25 per cent", 25.0, "percent"),
        ("25 percent", 25.0, "percent"),
        ("two per cent", 2.0, "percent"),
        ("2% of GDP", 2.0, "percent"),
        ("20 per cent of their defence budgets", 20.0, "percent"),
        # counted nouns, as written
        ("eight aircraft", 8.0, "aircraft"),
        ("five Allies", 5.0, "Allies"),
        ("30 NATO Allies", 30.0, "NATO Allies"),
        ("74 measures", 74.0, "measures"),
        ("3,000 troops", 3000.0, "troops"),
        ("3,000 troops.", 3000.0, "troops"),
        ("4,000 troops in Kosovo", 4000.0, "troops"),
        ("twenty-nine Allies", 29.0, "Allies"),
        ("one hundred and twenty experts", 120.0, "experts"),
        ("a dozen countries", 12.0, "countries"),
        ("two thousand soldiers", 2000.0, "soldiers"),
        ("two dozen ships", 24.0, "ships"),
        ("12 follow-on projects", 12.0, "follow-on projects"),
        # bare numbers
        ("2", 2.0, None),
        ("two", 2.0, None),
        ("3,000", 3000.0, None),
        ("1.5", 1.5, None),
        ("2,5", 2.5, None),
        ("seventy", 70.0, None),
        ("eight", 8.0, None),
        ("twenty-nine", 29.0, None),
        ("twenty\u2013nine", 29.0, None),
        ("one hundred and twenty", 120.0, None),
        ("a dozen", 12.0, None),
        ("two thousand", 2000.0, None),
        ("a million", 1_000_000.0, None),
        ("1,234,567", 1_234_567.0, None),
    ],
)
def test_value_and_unit(text: str, value: float, unit: str | None) -> None:
    assert parse_amount(text) == Amount(value, unit, None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("more than seventy measures", Amount(70.0, "measures", "more than")),
        ("over 3,000 troops", Amount(3000.0, "troops", "more than")),
        ("above 2%", Amount(2.0, "percent", "more than")),
        ("less than 1%", Amount(1.0, "percent", "less than")),
        ("under €5 million", Amount(5_000_000.0, "EUR", "less than")),
        ("fewer than ten ships", Amount(10.0, "ships", "less than")),
        ("below 2 per cent", Amount(2.0, "percent", "less than")),
        ("up to 5,000 troops", Amount(5000.0, "troops", "up to")),
        ("as many as 40 ships", Amount(40.0, "ships", "up to")),
        ("about 2", Amount(2.0, None, "about")),
        ("around 300 personnel", Amount(300.0, "personnel", "about")),
        ("approximately €1.5bn", Amount(1_500_000_000.0, "EUR", "about")),
        ("some 3,000 troops", Amount(3000.0, "troops", "about")),
        ("roughly 20 per cent", Amount(20.0, "percent", "about")),
        ("nearly 100 experts", Amount(100.0, "experts", "nearly")),
        ("almost 100 experts", Amount(100.0, "experts", "nearly")),
        ("at least 2%", Amount(2.0, "percent", "at least")),
        ("at most five Allies", Amount(5.0, "Allies", "at most")),
        ("70 or more measures", Amount(70.0, "measures", "at least")),
        ("an estimated 1,000 civilians", Amount(1000.0, "civilians", "about")),
    ],
)
def test_qualifiers(text: str, expected: Amount) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "several",
        "many",
        "hundreds of measures",
        "thousands of troops",
        "dozens of countries",
        "several hundred troops",
        "a number of Allies",
        "a year",
        "",
        "measures",
    ],
)
def test_no_number(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    "text, value",
    [
        ("3,000", 3000.0),
        ("3,000,000", 3_000_000.0),
        ("1.5", 1.5),
        ("2,5", 2.5),
        ("2,50", 2.5),
        ("1,234.5", 1234.5),
        ("1.500.000", 1_500_000.0),
        ("1.234,5", 1234.5),
        ("1.5bn", 1.5e9),
        ("1.5 billion", 1.5e9),
        ("3m", 3e6),
        ("5k", 5000.0),
        ("2 thousand", 2000.0),
        ("seventy", 70.0),
        ("eight", 8.0),
        ("twenty-nine", 29.0),
        ("twenty nine", 29.0),
        ("one hundred and twenty", 120.0),
        ("a hundred", 100.0),
        ("a dozen", 12.0),
        ("two thousand", 2000.0),
        ("two thousand five hundred", 2500.0),
        ("three hundred thousand", 300_000.0),
        ("one million two hundred thousand", 1_200_000.0),
        ("a million", 1e6),
        ("a", 1.0),
        ("zero", 0.0),
        ("  12  ", 12.0),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "several", "hundreds", "hundred", "dozen", "2%", "3 troops", "two three", "3 m", "1,2,3", "twenty thirty"],
)
def test_parse_number_none(text: str) -> None:
    assert parse_number(text) is None


# Found in R vignettes and TeX docs: superscripts and circled digits pass str.isdigit() but are
# not numbers for float(); two numbers joined by a comma are not one number. They were a
# ValueError ("a bug") that failed the whole document at the tag stage.
@pytest.mark.parametrize("text", ["³", "¹ troops", "③", "450.572,480.503", "3.804,4.508", "1.234,5,6"])
def test_digit_runs_that_are_not_one_number(text: str) -> None:
    assert parse_number(text) is None
    assert parse_amount(text) is None


def test_amount_programming_errors() -> None:
    with pytest.raises(ValueError, match="None"):
        parse_amount(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="42"):
        parse_number(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, number, widened",
    [
        ("It costs US$3m in all", "3", "US$3m"),
        ("has €1.5bn in", "1.5bn", "€1.5bn"),
        ("has € 1.5bn in", "1.5bn", "€ 1.5bn"),
        ("give 2 million EUR to", "2 million", "2 million EUR"),
        ("give 3 million euros.", "3 million", "3 million euros"),
        ("give 5 million Canadian dollars.", "5 million", "5 million Canadian dollars"),
        ("plus CHF 10 million and", "10 million", "CHF 10 million"),
        ("spend 25 per cent of", "25", "25 per cent"),
        ("from 28 countries", "28", "28"),  # nothing to add
        ("3 m away", "3", "3"),  # a one-letter scale must touch the number
        ("eur 5", "5", "5"),  # codes are case-sensitive
    ],
)
def test_money_extent(text, number, widened):
    start = text.index(number)
    a, b = money_extent(text, start, start + len(number))
    assert text[a:b] == widened


@pytest.mark.parametrize(
    "text, number, widened",
    [
        ("on more than seventy measures", "seventy", "more than seventy"),
        ("deploy up to 700 troops", "700", "up to 700"),
        ("some 3,600 troops", "3,600", "some 3,600"),
        ("the two organisations", "two", "two"),
        ("Moreover 5 ships", "5", "5"),  # "over" inside a word is no qualifier
    ],
)
def test_qualifier_start(text, number, widened):
    start = text.index(number)
    assert text[qualifier_start(text, start) : start + len(number)] == widened


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


def test_date_programming_errors() -> None:
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
