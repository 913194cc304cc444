"""Compliance rules as plain Python: no broker, no database, time passed in."""
