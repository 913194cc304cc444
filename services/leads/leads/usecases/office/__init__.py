"""The user's office (CRM): leads bought or entered, notes, the network pipeline, the edit
history, refund claims, the Excel/CSV export and the mailer's contract (terms art. 3.B.ii,
3.B.iv, 5, 8.A.5, 10).

Use cases: ``one_lead`` (arrival, reading, edits, notes, status moves, deletion,
erasure), ``queries`` (listing), ``pipelines``, ``claims``, ``export``, ``mailing``
(``lead_contact``, ``lead_email_sent``); ``access`` is the one office-open check (terms
art. 10) and the admin's view (art. 5); ``history`` writes and reads the append-only
history; ``context`` is what they receive (``OfficeCtx``), with its crypto helpers (JSON
columns, each lead's own key, history values sealed with it). Lists page with ``suivi_common.paging``
(``{items, next_cursor}``); the office's settings are ``leads.settings.TUNABLES``. The pure
parts (stored form, search keys, views) are ``leads.domain.office_records``; the tables are
in ``leads.models``, the database guards in the migrations; the nameko entrypoints in
``leads.office_entrypoints``.
"""
