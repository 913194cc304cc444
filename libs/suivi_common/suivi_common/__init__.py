"""Shared building blocks of the Suivi services.

Importing this package first makes psycopg 3 use a wait function that eventlet can
green (``wait_select``); the C default would block the whole hub on every query.
"""
import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

#: Every service of the platform (tools start them; the gateway asks each for health and
#: dead letters).
SERVICES = ("accounts", "plans", "leads", "mailer", "compliance")
