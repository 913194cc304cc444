from leads.models import metadata
from suivi_common.migrations import run_env

run_env(metadata)
