"""The compliance database. Data-subject requests, retention and breach notices arrive
in later issues; for now it holds only the tables every service keeps."""
from sqlalchemy import MetaData

from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)
