"""The service layer: one module per area, each function one RPC's work, called by the
thin entrypoints of ``accounts.service`` with a ``Ctx``."""
