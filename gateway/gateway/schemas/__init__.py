"""Marshmallow schemas: every request and response of the gateway goes through one."""
