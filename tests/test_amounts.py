import pytest

from extractors.amounts import money_extent, parse_amount, parse_number, qualifier_start
from schemas.records import Amount


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


def test_programming_errors() -> None:
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
