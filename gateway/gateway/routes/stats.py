"""Statistics models (admin tool 3): the admin's CRUD, and the figures of a model.

Figures are counted where the data lives: accounts says which model and whose data
(``stat_scope``: a member their own; the admin the network's, one by one only for the
members whose admin access is on, terms art. 5); the one service that holds the metric
counts it set-based (``stat_counts``, as the request's user, so it checks who asks
itself); this route shapes the rows into series and renders JSON, CSV or SVG.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from werkzeug.wrappers import Response

from gateway import charts
from gateway.http import Req, api
from gateway.schemas.common import DeletedOut, PageQuery, page_args, page_of
from gateway.schemas.stats import StatFiguresOut, StatModelIn, StatModelOut, StatQuery
from suivi_common import clock, stats

MEMBER = ("user", "admin")


def time_axis(grouping: str, first: date, last: date) -> list[str]:
    """Every week or month label of the period, in order (empty ones count 0)."""
    labels: list[str] = []
    day = first
    while day <= last:
        label = stats.time_label(grouping, day)
        if label not in labels:
            labels.append(label)
        day += timedelta(days=1)
    return labels


def shape(rows: list[dict[str, Any]], metric: str, grouping: str, first: date, last: date,
          split: list[str], whole_network: bool) -> list[dict[str, Any]]:
    """``stat_counts`` rows as series of points, in a stable order."""
    names: list[str] = []
    values: dict[tuple[str, str], Any] = {}
    for r in rows:
        if r["series"] not in names:
            names.append(r["series"])
        values[(r["series"], r["x"])] = r["value"]
    if not names:
        names = [metric]
    xs = sorted({x for _, x in values})
    if grouping in ("week", "month"):
        xs = time_axis(grouping, first, last)
    elif grouping == "member":
        xs = [m for m in split if any((n, m) in values for n in names)] or split[:1]
        if whole_network and any((n, stats.OTHERS) in values for n in names):
            xs.append(stats.OTHERS)
    return [{"name": n, "points": [{"x": x, "value": values.get((n, x), 0)} for x in xs]}
            for n in sorted(names)]


class StatsRoutes:
    accounts: Any
    leads: Any
    mailer: Any
    plans: Any

    @api("GET", "/api/network/stat-models", roles=MEMBER, query=PageQuery,
         response=page_of(StatModelOut), tags=("stats",),
         summary="The network's statistics models")
    def list_stat_models(self, req: Req) -> Any:
        return self.accounts.list_stat_models(*page_args(req.query))

    @api("POST", "/api/network/stat-models", roles=("admin",), body=StatModelIn,
         response=StatModelOut, status=201, tags=("stats",), errors=(409,),
         summary="Define a statistics model: a metric, a grouping, a window of days")
    def create_stat_model(self, req: Req) -> Any:
        return self.accounts.create_stat_model(req.body)

    @api("PUT", "/api/network/stat-models/<model_id>", roles=("admin",), body=StatModelIn,
         response=StatModelOut, tags=("stats",), errors=(409,),
         summary="Replace a statistics model")
    def update_stat_model(self, req: Req, model_id: str) -> Any:
        return self.accounts.update_stat_model(model_id, req.body)

    @api("DELETE", "/api/network/stat-models/<model_id>", roles=("admin",),
         response=DeletedOut, tags=("stats",), summary="Delete a statistics model")
    def delete_stat_model(self, req: Req, model_id: str) -> Any:
        return self.accounts.delete_stat_model(model_id)

    @api("GET", "/api/stats/<model_id>", roles=MEMBER, query=StatQuery,
         response=StatFiguresOut, tags=("stats",),
         summary="A model's figures: JSON series, ?format=csv or ?format=svg (a chart)")
    def stat_figures(self, req: Req, model_id: str) -> Any:
        figures = self.stat_series(model_id, req.query.get("from_"), req.query.get("to"))
        fmt = req.query["format"]
        if fmt in ("csv", "svg"):
            return self.stat_file(figures, fmt)
        return {"model": figures["model"],
                "scope": "network" if figures["whole_network"] else "member",
                "from": figures["first"].isoformat(), "to": figures["last"].isoformat(),
                "series": figures["series"]}

    def stat_series(self, model_id: str, first_day: date | None,
                    last_day: date | None) -> dict[str, Any]:
        """A model's figures as the caller may see them: ``{model, first, last, series,
        whole_network}`` (the web office's statistics page reads them here too)."""
        scope = self.accounts.stat_scope(model_id)
        model = scope["model"]
        first, last = stats.period(first_day, last_day, model["window_days"], clock.today())
        owner = getattr(self, stats.OWNER[model["metric"]])
        rows = owner.stat_counts(model["metric"], model["grouping"], first.isoformat(),
                                 last.isoformat(), scope["split"])
        series = shape(rows, model["metric"], model["grouping"], first, last,
                       scope["split"], scope["whole_network"])
        return {"model": model, "first": first, "last": last, "series": series,
                "whole_network": scope["whole_network"]}

    def stat_file(self, figures: dict[str, Any], fmt: str) -> Response:
        """``stat_series``' figures as the CSV file or the SVG chart of the API route."""
        if fmt == "csv":
            return Response(charts.to_csv(figures["series"]), status=200,
                            content_type="text/csv; charset=utf-8", headers={
                                "Content-Disposition": 'attachment; filename="stats.csv"'})
        model, first, last = figures["model"], figures["first"], figures["last"]
        title = f"{model['name']} ({first.isoformat()} .. {last.isoformat()})"
        return Response(charts.to_svg(title, figures["series"]), status=200,
                        content_type="image/svg+xml",
                        headers={"Content-Security-Policy": "default-src 'none'; "
                                 "style-src 'unsafe-inline'"})
