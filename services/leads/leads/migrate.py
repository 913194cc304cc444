"""``python -m leads.migrate``: create the leads database if needed and upgrade it."""
from pathlib import Path

from suivi_common.migrations import main_for

if __name__ == "__main__":
    main_for(Path(__file__).parent / "migrations",
             "postgresql+psycopg://postgres@127.0.0.1:5432/leads")
