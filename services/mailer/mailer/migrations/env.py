import mailer.google.tables  # noqa: F401  (its tables are on the same metadata)
from mailer.models import metadata
from suivi_common.migrations import run_env

run_env(metadata)
