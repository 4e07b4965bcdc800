"""How figures are written for a person: exact money, signed bps, percentages, ages."""

from __future__ import annotations

from decimal import Decimal

from mmbot.bot import figures


def test_an_unknown_figure_is_a_dash_whatever_its_kind() -> None:
    assert {
        figures.money(None),
        figures.price(None),
        figures.bps(None),
        figures.share(None),
        figures.age(None),
        figures.micros(None),
    } == {figures.MISSING}


def test_money_is_grouped_and_rounded_to_cents_from_the_exact_decimal() -> None:
    assert figures.money(Decimal("1234567.894")) == "1,234,567.89"
    assert figures.money(Decimal("-0.5")) == "-0.50"


def test_a_price_keeps_every_digit_it_has() -> None:
    assert figures.price(Decimal("64999.50")) == "64999.5"
    assert figures.price(Decimal("60000")) == "60000"
    assert figures.price(Decimal("2996.84000000")) == "2996.84"
    assert figures.price(Decimal("0.00001234")) == "0.00001234"


def test_bps_carry_a_sign_and_shares_are_percentages() -> None:
    assert (figures.bps(1.754), figures.bps(Decimal("-0.8")), figures.bps(0.0)) == (
        "+1.75",
        "-0.80",
        "+0.00",
    )
    assert figures.share(0.973) == "97.3%"


def test_ages_and_durations_read_at_a_glance() -> None:
    assert [figures.age(s) for s in (0.042, 7.54, 185)] == ["42ms", "7.5s", "3m05s"]
    assert [figures.duration(s) for s in (42, 185, 3720)] == ["42s", "3m05s", "1h02m00s"]
    assert [figures.micros(u) for u in (41.5, 1250)] == ["41.5µs", "1.25ms"]
