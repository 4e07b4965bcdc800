"""docs/dashboards/mmbot.json: a Grafana dashboard over exactly the metrics BotMetrics exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_metrics import busy_metrics

from mmbot.bot.metrics import BREAKER_STATE_CODES, UNKNOWN_BREAKER_STATE

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "dashboards" / "mmbot.json"
METRIC_NAME = re.compile(r"\bmmbot_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression: the panels' targets and the template variables' queries."""
    found = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


def exported_sample_names() -> set[str]:
    text = busy_metrics().scrape().decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_every_expression_names_only_metrics_botmetrics_exports(
    dashboard: dict[str, Any],
) -> None:
    exported = exported_sample_names()
    for expr in expressions(dashboard):
        unknown = set(METRIC_NAME.findall(expr)) - exported
        assert not unknown, f"{expr!r} names {sorted(unknown)}, which /metrics does not export"


def test_every_exported_metric_is_on_the_dashboard(dashboard: dict[str, Any]) -> None:
    shown = {name for expr in expressions(dashboard) for name in METRIC_NAME.findall(expr)}
    families = {re.sub(r"_(bucket|count|sum|created)$", "", n) for n in exported_sample_names()}
    missing = {
        family
        for family in families
        if not any(name == family or name.startswith(family + "_") for name in shown)
    }
    assert not missing, f"not on the dashboard: {sorted(missing)}"


def test_the_datasource_is_a_variable_every_panel_uses(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"


def test_panels_have_unique_ids_and_fit_the_grid(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]


def test_the_breaker_panel_maps_every_documented_state_code(dashboard: dict[str, Any]) -> None:
    (panel,) = [p for p in panels(dashboard) if p["title"] == "Breaker state"]
    (mapping,) = panel["fieldConfig"]["defaults"]["mappings"]
    texts = {int(code): option["text"] for code, option in mapping["options"].items()}
    assert texts == {
        **{code: state.value for state, code in BREAKER_STATE_CODES.items()},
        UNKNOWN_BREAKER_STATE: "unknown",
    }
