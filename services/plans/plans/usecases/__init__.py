"""The service layer: what each entrypoint does, between nameko and the pure domain.

Every function takes a ``Ctx`` (session, outbox, caller, config, ports to accounts and
leads), loads what the rule needs, calls the domain, saves and emits. Entrypoints in
``plans.service`` only build the ``Ctx`` and call one function here.
"""
