"""Adapters to the world outside the service: the card provider, password hashing."""
