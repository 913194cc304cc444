"""Two tiny services run as real ``nameko run`` processes by the crash tests.

Not a test module: ``test_crash_recovery.py`` starts it with ``--config`` in a subprocess.
"""
import eventlet
from sqlalchemy import Column, Integer, MetaData, Sequence, String, Table, insert, text

import suivi_common  # noqa: F401
from suivi_common import events
from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.service_base import PlatformService, rpc_api
from suivi_common.tables import define_common_tables

events.CATALOGUE.update(events.load("""[written]
version = 1
emitted_by = ["crash_producer"]
consumed_by = ["crash_consumer"]
doc = "The crash tests' stream."
fields.value = "str"
"""))
metadata = MetaData()
common = define_common_tables(metadata)
records = Table("crash_records", metadata, Column("id", Integer, primary_key=True),
                Column("value", String(100), nullable=False))
applied = Table("crash_applied", metadata, Column("id", Integer, primary_key=True),
                Column("value", String(100), nullable=False))
#: Arrivals at the barrier of ``CrashProducer.meet``: a sequence, because ``nextval`` is
#: seen by every other transaction at once and never rolled back.
arrivals = Sequence("crash_arrivals", metadata=metadata)


class CrashProducer(PlatformService):
    name = "crash_producer"
    db = Database(common)

    @rpc_api
    def write(self, value: str) -> None:
        self.db.session.execute(insert(records).values(value=value))
        self.db.emit("written", {"value": value})

    @rpc_api
    def meet(self, parties: int, polls: int) -> int:
        """Arrive at a barrier, then wait inside the database (``pg_sleep``) until
        ``parties`` calls have arrived, for at most ``polls`` naps; returns the arrivals
        seen. All can meet only if database I/O yields to the hub: with a blocking wait
        the first call would hold the process in its naps and nobody else could arrive."""
        session = self.db.session
        session.execute(text("SELECT nextval('crash_arrivals')"))
        seen = 0
        for _ in range(polls):
            seen = int(session.execute(text("SELECT last_value FROM crash_arrivals")).scalar_one())
            if seen >= parties:
                break
            session.execute(text("SELECT pg_sleep(0.05)"))
        return seen


class CrashConsumer(PlatformService):
    name = "crash_consumer"
    db = Database(common)

    @reliable_handler("crash_producer", "written")
    def on_written(self, payload: dict) -> None:
        eventlet.sleep(0.005)  # slow enough to be killed mid-stream
        self.db.session.execute(insert(applied).values(value=payload["value"]))
