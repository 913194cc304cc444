"""Test support shared by the services' test suites (real PostgreSQL and RabbitMQ)."""
