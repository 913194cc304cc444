"""The register, assembled on each request from the services' declared data maps
(``<service>.data_map()`` over RPC), compliance's own map, the sub-processor registry and
the settings (processor name, DPO). A service that does not answer is listed as missing,
never papered over."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance.domain import datamap, documents
from compliance.domain import register as rules
from compliance.remote import Unavailable
from compliance.usecases import subprocessors
from compliance.usecases.context import Ctx
from suivi_common import clock

DECLARING = ("accounts", "plans", "leads", "mailer")


def _controllers(ctx: Ctx) -> tuple[dict[str, Any] | None, str | None]:
    try:
        answer = ctx.services.register_controllers()
    except Unavailable:
        return None, "accounts.register_controllers is not available"
    if not isinstance(answer, dict) or not isinstance(answer.get("count"), int):
        return None, "accounts.register_controllers answered {count, items} badly"
    return {"description": rules.CONTROLLERS, "count": answer["count"],
            "items": list(answer.get("items") or [])}, None


def declared_maps(ctx: Ctx, services: Iterable[str] = DECLARING
                  ) -> tuple[list[datamap.DataMap], dict[str, str]]:
    """Compliance's own map and those ``services`` declare (asked over RPC), with the
    services whose map could not be had, and why."""
    maps = [datamap.COMPLIANCE_DATA_MAP]
    missing: dict[str, str] = {}
    for service in services:
        try:
            declared = datamap.parse_data_map(ctx.services.data_map(service))
        except Unavailable:
            missing[service] = "no data map declared (data_map RPC did not answer)"
            continue
        except ValueError as err:
            missing[service] = f"invalid data map: {err}"
            continue
        if declared.service != service:
            missing[service] = f"its data map names {declared.service!r}"
            continue
        maps.append(declared)
    return maps, missing


def build(ctx: Ctx) -> dict[str, Any]:
    ctx.compliance_staff()
    maps, missing = declared_maps(ctx)
    controllers, problem = _controllers(ctx)
    if problem:
        missing["controllers"] = problem
    registry = subprocessors.registry(ctx)["items"]
    return rules.assemble(ctx.settings.processor_name,
                          {"name": ctx.settings.dpo_name or None,
                           "email": ctx.settings.dpo_email or None},
                          maps, missing, registry, controllers, clock.now())


def document(ctx: Ctx) -> dict[str, Any]:
    register = build(ctx)
    return {"filename": f"registre-{clock.today().isoformat()}.html",
            "html": documents.register_html(register)}
