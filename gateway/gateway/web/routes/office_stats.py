"""The distributor's statistics: the network's models, and one model's figures for the
caller (their own data; an admin's, the network's as art. 5 allows).

The figures are ``StatsRoutes.stat_series``, the very ones ``GET /api/stats/{id}`` counts;
the chart is its SVG and the download its CSV (``stat_file``), served here under the web
session so the page shows the chart as a plain ``<img>``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway.schemas.stats import StatQuery
from gateway.web.http import Page, page, validated

MEMBER = ("user", "admin")


def period_args(args: Any) -> dict[str, str]:
    """The page's ``from`` and ``to`` as typed (the query string of the chart and file)."""
    return {k: args.get(k, "").strip() for k in ("from", "to") if args.get(k, "").strip()}


class WebStatsRoutes:
    accounts: Any
    stat_series: Any  # from gateway.routes.stats.StatsRoutes (GatewayService has both)
    stat_file: Any

    @page("GET", "/web/office/stats", roles=MEMBER)
    def web_stats(self, p: Page) -> Response:
        models = self.accounts.list_stat_models(None, 100)["items"]
        return p.render("stats.html", models=models)

    def _sts_figures(self, p: Page, model_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        typed = period_args(p.http.args)
        query = validated(StatQuery, typed)
        return self.stat_series(model_id, query.get("from_"), query.get("to")), typed

    @page("GET", "/web/office/stats/<model_id>", roles=MEMBER)
    def web_stat(self, p: Page, model_id: str) -> Response:
        figures, typed = self._sts_figures(p, model_id)
        query = urlencode(typed)
        suffix = f"?{query}" if query else ""
        return p.render("stat.html", model=figures["model"], series=figures["series"],
                        first=figures["first"], last=figures["last"],
                        whole_network=figures["whole_network"],
                        chart_url=f"/web/office/stats/{model_id}/chart.svg{suffix}",
                        csv_url=f"/web/office/stats/{model_id}/figures.csv{suffix}")

    @page("GET", "/web/office/stats/<model_id>/chart.svg", roles=MEMBER)
    def web_stat_chart(self, p: Page, model_id: str) -> Response:
        return self.stat_file(self._sts_figures(p, model_id)[0], "svg")

    @page("GET", "/web/office/stats/<model_id>/figures.csv", roles=MEMBER)
    def web_stat_csv(self, p: Page, model_id: str) -> Response:
        return self.stat_file(self._sts_figures(p, model_id)[0], "csv")
