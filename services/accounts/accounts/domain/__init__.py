"""Business rules of the accounts service: plain Python, no broker, no database."""
