"""Statistics figures as CSV and as an SVG chart drawn on the server (matplotlib, Agg:
no display, no browser script; the fonts are the ones matplotlib ships)."""
from __future__ import annotations

import csv
import io
import threading
from typing import Any

_lock = threading.Lock()
#: at most this many labelled groups on the axis (every n-th beyond)
MAX_TICKS = 20


def to_csv(series: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["series", "x", "value"])
    for s in series:
        for p in s["points"]:
            writer.writerow([_safe(s["name"]), _safe(p["x"]), p["value"]])
    return out.getvalue()


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_svg(title: str, series: list[dict[str, Any]]) -> bytes:
    """Grouped bars: one colour per series, one group per ``x``."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    xs: list[str] = []
    for s in series:
        for p in s["points"]:
            if p["x"] not in xs:
                xs.append(p["x"])
    with _lock:  # matplotlib's rc parameters are global
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "suivi"}):
            fig = Figure(figsize=(max(6.0, min(18.0, 0.5 * len(xs) + 3)), 4.0))
            ax = fig.add_subplot()
            width = 0.8 / max(1, len(series))
            for i, s in enumerate(series):
                values = {p["x"]: p["value"] for p in s["points"]}
                ax.bar([n + i * width - 0.4 + width / 2 for n in range(len(xs))],
                       [values.get(x, 0) for x in xs], width, label=s["name"])
            step = max(1, len(xs) // MAX_TICKS + (len(xs) % MAX_TICKS > 0))
            ticks = range(0, len(xs), step)
            ax.set_xticks(list(ticks), [xs[n][:12] for n in ticks], rotation=45, ha="right")
            ax.set_title(title)
            if len(series) > 1:
                ax.legend()
            # fixed margins: a layout engine would draw the whole figure once more
            fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.25)
            out = io.BytesIO()
            fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
