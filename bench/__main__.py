"""``make bench``: run every benchmark and print figures (also saved to var/bench.json)."""
from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from tools.platform import stop_on_signals

SUITES = [("me", "bench.me", "run")]
OPTIONAL = [
    ("leads_distribution", "bench.leads_distribution", "run"),
    ("leads_http", "bench.leads_http", "run"),
    ("office", "bench.office", "run"),
    ("statistics", "bench.statistics", "run"),
    ("mailer", "bench.mailer", "run"),
    ("compliance_retention", "bench.compliance_retention", "run"),
    ("compliance_breach", "bench.compliance_breach", "run"),
    ("compliance_erasure", "bench.compliance_erasure", "run"),
    ("site_page", "bench.sites", "run_page"),
    ("site_form", "bench.sites", "run_form"),
    ("web_office", "bench.web_office", "run"),
    ("page_weight", "bench.page_weight", "run"),
]


def main(selected: list[str]) -> int:
    os.environ.setdefault("SUIVI_ENV", "dev")  # production is the default; benchmarks are not
    stop_on_signals()  # a killed bench stops the platforms it started
    results = {}
    for name, module, func in SUITES + OPTIONAL:
        if selected and name not in selected:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        print(f"== {name}", flush=True)
        results[name] = getattr(mod, func)()
    out = Path("var/bench.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"figures saved to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
