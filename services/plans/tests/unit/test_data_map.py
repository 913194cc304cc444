"""plans' data map against its tables: the next table added to ``plans.models`` without a
data-map entry fails here (``suivi_common.datamap.table_coverage``)."""
from plans.domain.data_map import NOT_PERSONAL, TABLES, data_map
from plans.models import metadata
from suivi_common.datamap import table_coverage


def test_every_table_is_in_the_map_or_declared_not_personal() -> None:
    assert table_coverage(metadata.tables, data_map(), TABLES, NOT_PERSONAL) == []
