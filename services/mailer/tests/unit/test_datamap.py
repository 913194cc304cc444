"""The mailer's data map against its tables: the next table added to ``mailer.models``
without a data-map entry fails here (``suivi_common.datamap.table_coverage``).

``mailer.google.tables`` is imported as the service imports it: its tables join the one
metadata only then (run alone, this test would otherwise miss them).
"""
import mailer.google.tables  # noqa: F401
from mailer.domain.datamap import NOT_PERSONAL, TABLES, data_map
from mailer.models import metadata
from suivi_common.datamap import table_coverage


def test_every_table_is_in_the_map_or_declared_not_personal() -> None:
    assert table_coverage(metadata.tables, data_map(), TABLES, NOT_PERSONAL) == []
