"""The exit summary of ``mmbot run``: per symbol and in total, as text and as JSON."""

from __future__ import annotations

import json
from decimal import Decimal

from status_kit import halted_symbol, quoting_symbol, sample_status

from mmbot.bot.status import BotStatus
from mmbot.bot.summary import summary_dict, summary_text, total_line


def row(text: str, name: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if line.split()[:1] == [name]]
    return line.split()


def test_the_text_has_a_row_per_symbol_with_every_figure() -> None:
    assert row(summary_text(sample_status()), "BTCUSDT") == [
        "BTCUSDT", "7", "70,512.55", "12.34", "+1.75", "-0.80", "5.0%",
        "+0.50", "-1.25", "+2.00", "97.0%", "1",
    ]  # fmt: skip


def test_the_text_shows_unknown_figures_as_a_dash_not_zero() -> None:
    cells = row(summary_text(sample_status()), "ETHUSDT")
    assert cells[4:11] == ["-"] * 7  # net, slippage, taker, three markouts, uptime


def test_the_text_total_is_the_ledgers_total() -> None:
    assert row(summary_text(sample_status()), "total") == [
        "total", "9", "73,152.55", "11.68", "+1.60", "-0.75", "4.8%",
        "+0.40", "-1.10", "-", "97.0%", "4",
    ]  # fmt: skip


def test_the_text_names_the_run_its_halts_and_what_start_up_found() -> None:
    text = summary_text(sample_status())
    assert text.splitlines()[0] == (
        "mmbot run r7f3a: live on sim, config a1b2c3d4e5f6 (v1), 1h02m00s"
    )
    assert "halts: ETHUSDT (restart_intensity)" in text
    assert "2 cancelled, 0 adopted; foreign orders left alone: 1" in text


def test_a_run_without_halts_says_so() -> None:
    assert "halts: none" in summary_text(sample_status(symbols=(quoting_symbol(),)))


def test_without_the_ledgers_total_money_is_summed_and_other_ratios_left_out() -> None:
    line = total_line(sample_status(total=None))
    assert (line.fills, line.volume, line.pnl) == (9, Decimal("73152.55"), Decimal("11.68"))
    assert line.net_bps == float(Decimal("11.68") * 10_000 / Decimal("73152.55"))
    assert (line.slippage_bps, line.taker_share, line.markouts) == (None, None, ())


def test_total_net_bps_is_unknown_before_any_volume() -> None:
    status = sample_status(symbols=(halted_symbol(),), total=None)
    assert total_line(status).net_bps is None
    assert row(summary_text(status), "total")[4] == "-"


def test_total_quote_uptime_is_the_mean_of_the_symbols_that_have_one() -> None:
    assert total_line(sample_status()).quote_uptime_ratio == 0.97


def test_the_dict_survives_json_with_money_exact_and_ratios_as_numbers() -> None:
    data = json.loads(json.dumps(summary_dict(sample_status())))
    btc = data["symbols"]["BTCUSDT"]
    assert (btc["volume"], btc["pnl"], btc["position"]) == ("70512.55", "12.34", "0.125")
    assert btc["net_bps"] == 1.75 and btc["taker_share"] == 0.05
    assert btc["markout_bps"] == {"1s": 0.5, "10s": -1.25, "60s": 2.0}
    assert data["total"]["pnl"] == "11.68"
    assert data["total"]["markout_bps"]["60s"] is None


def test_the_dict_names_the_run_its_halts_restarts_and_start_up() -> None:
    data = summary_dict(sample_status())
    assert (data["run_id"], data["config_hash"], data["duration_s"]) == (
        "r7f3a",
        "a1b2c3d4e5f6",
        3720.0,
    )
    assert data["halts"] == [{"symbol": "ETHUSDT", "reason": "restart_intensity"}]
    assert data["symbols"]["ETHUSDT"]["state"] == "halted"
    assert data["total"]["restarts"] == 4
    assert data["child_restarts"] == {"symbols/BTCUSDT/quoter": 1, "symbols/ETHUSDT/quoter": 3}
    assert data["startup"] == {"orphans_cancelled": 2, "orphans_adopted": 0, "foreign_orders": 1}


def test_an_empty_bot_still_summarises() -> None:
    status = BotStatus("r0", "sim", "sim", "000000000000", 1, now=0.0, started_at=0.0)
    assert row(summary_text(status), "total")[1:4] == ["0", "0.00", "0.00"]
    assert json.dumps(summary_dict(status))
