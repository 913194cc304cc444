"""The user's office (CRM): leads bought or entered, notes, the network pipeline, the edit
history, refund claims and the Excel/CSV export (terms art. 3.B.ii, 3.B.iv, 8.A.5, 10).

Layout: the tables are in ``leads.models`` (one metadata for the service), the database
guards in its migrations; ``records`` (pure helpers: stored form, blind-index
normalisation, views), ``access`` (who may reach an office), ``pipelines``, ``usecases``
(use cases on one lead), ``queries`` (listing), ``claims``, ``export``, ``entrypoints``
(the thin nameko mixin).
"""
