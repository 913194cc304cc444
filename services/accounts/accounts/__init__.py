"""Accounts service: networks, users and credentials, terms of service, access levels,
office subscriptions and payments (terms art. 1, 2, 5, 6, 7, 10, 14)."""
