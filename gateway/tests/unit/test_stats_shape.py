"""How the gateway shapes a service's counts into series, and the CSV and SVG it renders."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date

from gateway import charts
from gateway.routes.stats import shape


def test_time_groups_cover_every_week_of_the_period_with_zeros() -> None:
    rows = [{"series": "new", "x": "2026-W46", "value": 2},
            {"series": "client", "x": "2026-W48", "value": 1}]
    got = shape(rows, "leads_by_status", "week", date(2026, 11, 9), date(2026, 11, 29), [], True)
    assert [s["name"] for s in got] == ["client", "new"]
    assert got[1]["points"] == [{"x": "2026-W46", "value": 2}, {"x": "2026-W47", "value": 0},
                                {"x": "2026-W48", "value": 0}]
    assert got[0]["points"][2] == {"x": "2026-W48", "value": 1}


def test_members_come_in_the_order_named_then_the_others() -> None:
    rows = [{"series": "leads_received", "x": "others", "value": 5},
            {"series": "leads_received", "x": "m2", "value": 1}]
    got = shape(rows, "leads_received", "member", date(2026, 11, 1), date(2026, 11, 30),
                ["m1", "m2"], True)
    assert got == [{"name": "leads_received", "points": [{"x": "m2", "value": 1},
                                                         {"x": "others", "value": 5}]}]
    nothing = shape([], "leads_received", "member", date(2026, 11, 1), date(2026, 11, 30),
                    ["me"], False)
    assert nothing == [{"name": "leads_received", "points": [{"x": "me", "value": 0}]}]


def test_csv_cells_never_start_a_formula_and_svg_is_xml() -> None:
    series = [{"name": "=cmd", "points": [{"x": "-1", "value": 3}]}]
    rows = list(csv.reader(io.StringIO(charts.to_csv(series))))
    assert rows == [["series", "x", "value"], ["'=cmd", "'-1", "3"]]
    root = ET.fromstring(charts.to_svg("Titre <é>", series))
    assert root.tag.endswith("svg") and "Titre <é>" in "".join(root.itertext())
    assert not root.findall(".//{http://www.w3.org/2000/svg}script")
