"""The user's office (CRM): leads bought or entered, notes, the network pipeline, the edit
history, refund claims and the Excel/CSV export (terms art. 3.B.ii, 3.B.iv, 8.A.5, 10).

Layout: ``tables`` (schema, DB-level guards), ``records`` (pure helpers: stored form,
blind-index normalisation, views), ``access`` (who may reach an office), ``pipelines``,
``leads`` (use cases on one lead), ``queries`` (listing), ``claims``, ``export``,
``entrypoints`` (the thin nameko mixin). Nothing is imported here so that
``leads.models`` can import ``leads.office.tables`` without a cycle.
"""
