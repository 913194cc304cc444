"""Two tiny services run as real ``nameko run`` processes by the crash tests.

Not a test module: ``test_crash_recovery.py`` starts it with ``--config`` in a subprocess.
"""
import eventlet
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

import suivi_common  # noqa: F401
from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.service_base import PlatformService, rpc_api
from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)
records = Table("crash_records", metadata, Column("id", Integer, primary_key=True),
                Column("value", String(100), nullable=False))
applied = Table("crash_applied", metadata, Column("id", Integer, primary_key=True),
                Column("value", String(100), nullable=False))


class CrashProducer(PlatformService):
    name = "crash_producer"
    db = Database(common)

    @rpc_api
    def write(self, value: str) -> None:
        self.db.session.execute(insert(records).values(value=value))
        self.db.emit("written", {"value": value})

    @rpc_api
    def sleep(self, seconds: float) -> float:
        return float(self.db.session.execute(text("SELECT extract(epoch from clock_timestamp()) "
                                                  "FROM pg_sleep(:s)"), {"s": seconds}).scalar_one())


class CrashConsumer(PlatformService):
    name = "crash_consumer"
    db = Database(common)

    @reliable_handler("crash_producer", "written")
    def on_written(self, payload: dict) -> None:
        eventlet.sleep(0.005)  # slow enough to be killed mid-stream
        self.db.session.execute(insert(applied).values(value=payload["value"]))
