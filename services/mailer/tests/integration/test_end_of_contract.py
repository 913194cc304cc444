"""The mailer's e-mail copies under each owner's controller key, and the end of contract
(annex IV.12; compliance README): new copies are sealed under ``<network>/<owner>``, old
ones (under the network's key) stay readable and are moved by the re-keying, and the end
of contract reports the copies, then shreds the controller's key so that a copy taken
before (what a backup holds) can no longer be read, even with the master key."""
from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from mailer.domain.templating import Rendered
from mailer.models import common, email_oppositions, lead_emails
from mailer.usecases.lead_emails import opposition_index, sealed
from suivi_common import clock
from suivi_common.crypto import KeyDestroyed, KeyRing, Vault, controller_scope, key_fingerprint
from suivi_common.rpc import RpcClient

LE = lead_emails


def master_key(live: Any) -> bytes:
    return base64.b64decode(Path(live.cfg["SUIVI_MASTER_KEY_FILE"]).read_text().strip())


def open_with_master(live: Any, rows: list[Any]) -> list[str | None]:
    """Each row's subject opened with the master key and the key table, as a restored
    backup would be; None where its key is shredded."""
    engine = create_engine(live.db_url)
    out: list[str | None] = []
    try:
        with Session(engine) as session:
            vault = Vault(KeyRing(master_key(live), common, engine), session)
            for row in rows:
                try:
                    out.append(vault.decrypt(row.key_scope or row.network_id, "lead_emails",
                                             "subject", row.id, bytes(row.subject)))
                except KeyDestroyed:
                    out.append(None)
    finally:
        engine.dispose()
    return out


def rows_of(live: Any, owner_id: str) -> list[Any]:
    engine = create_engine(live.db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(LE).where(LE.c.owner_id == owner_id)
                                     .order_by(LE.c.created_at, LE.c.id)).all())
    finally:
        engine.dispose()


def old_copy(live: Any, office: Any, lead: dict[str, Any], subject: str) -> uuid.UUID:
    """A sent e-mail as the mailer wrote it before controller keys: sealed under the
    network's key, ``key_scope`` None."""
    engine = create_engine(live.db_url)
    email_id, now = uuid.uuid4(), clock.now()
    try:
        with Session(engine) as session:
            vault = Vault(KeyRing(master_key(live), common, engine), session)
            net, owner = lead["network_id"], lead["owner_id"]
            values = sealed(vault, net, email_id, to=lead["email"],
                            bidx=opposition_index(vault, net, owner, lead["email"]),
                            rendered=Rendered(subject, "Texte d'avant", None), locale="fr")
            assert values.pop("key_scope") is None
            session.execute(LE.insert().values(
                id=email_id, lead_id=uuid.UUID(lead["lead_id"]), owner_id=owner,
                network_id=net, origin="office", status="sent", due_at=now, created_at=now,
                sent_at=now, channel="smtp", **values))
            session.commit()
    finally:
        engine.dispose()
    return email_id


def sent_to(office: Any, lead: dict[str, Any], until: Any, subject: str) -> None:
    before = len(office.mails_to(lead))
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, subject, "Texte pour vous")
    until(lambda: len(office.mails_to(lead)) > before)
    until(lambda: all(r["status"] == "sent" for r in office.emails_of(lead)))


def history(live: Any, lead: dict[str, Any]) -> list[dict[str, Any]]:
    with RpcClient(live.cfg["AMQP_URI"], service="leads") as rpc:
        return list(rpc.mailer.lead_email_history(lead["lead_id"]))


def test_new_copies_are_under_the_owners_key_and_old_ones_stay_readable_and_are_moved(
        new_office, live_mailer, until) -> None:
    office = new_office()
    lead = office.lead()
    sent_to(office, lead, until, "Nouveau")
    mine = controller_scope(office.network_id, office.user.user_id)
    [new] = rows_of(live_mailer, office.user.user_id)
    assert new.key_scope == mine

    old_id = old_copy(live_mailer, office, lead, "Ancien")
    [old] = [r for r in rows_of(live_mailer, office.user.user_id) if r.id == old_id]
    assert old.key_scope is None
    assert sorted(e["subject"] for e in history(live_mailer, lead)) == ["Ancien", "Nouveau"]

    with RpcClient(live_mailer.cfg["AMQP_URI"], service="leads") as rpc:
        assert rpc.mailer.rekey_controllers()["moved"] >= 1
        assert rpc.mailer.rekey_controllers()["moved"] == 0  # nothing left to move
    [moved] = [r for r in rows_of(live_mailer, office.user.user_id) if r.id == old_id]
    assert moved.key_scope == mine and bytes(moved.subject) != bytes(old.subject)
    assert bytes(moved.to_bidx) == bytes(old.to_bidx)  # the opposition index stays
    assert sorted(e["subject"] for e in history(live_mailer, lead)) == ["Ancien", "Nouveau"]
    # the new ciphertext is not the network key's any more
    engine = create_engine(live_mailer.db_url)
    with Session(engine) as session, pytest.raises(InvalidTag):
        Vault(KeyRing(master_key(live_mailer), common, engine), session).decrypt(
            office.network_id, "lead_emails", "subject", moved.id, bytes(moved.subject))
    engine.dispose()


def test_the_end_of_contract_reports_the_copies_then_shreds_the_controllers_key(
        new_office, compliance, live_mailer, until, read_rows) -> None:
    office = new_office()
    alice = office.user
    marc = office.member("Marc")
    anna, bert = office.lead(), office.lead()
    carl = office.lead(owner=marc)
    sent_to(office, anna, until, "Pour Anna")
    old_copy(live_mailer, office, bert, "Pour Bert, avant")  # never re-keyed yet
    before = len(office.mails_to(carl))
    with office.rpc(marc) as rpc:
        rpc.mailer.send_lead_email(carl["lead_id"], None, "Pour Carl", "Texte")
    until(lambda: len(office.mails_to(carl)) > before)
    until(lambda: all(r["status"] == "sent" for r in office.emails_of(carl)))
    engine = create_engine(live_mailer.db_url)
    with Session(engine) as session:  # Anna objected to Alice's emails: on Alice's list
        vault = Vault(KeyRing(master_key(live_mailer), common, engine), session)
        session.execute(email_oppositions.insert().values(
            owner_id=alice.user_id, recorded_at=clock.now(),
            address_bidx=opposition_index(vault, office.network_id, alice.user_id,
                                          anna["email"])))
        session.commit()
    engine.dispose()

    contract = str(uuid.uuid4())
    ask = {"contract_id": contract, "user_id": alice.user_id, "attempt": 1}
    compliance.publish("controller_data_requested", ask)
    [report] = until(lambda: compliance.eoc_reports("controller_data_reported", contract),
                     what="the mailer's part of the archive")
    assert report["service"] == "mailer" and report["records"] == 2 and "error" not in report
    assert sorted(e["subject"] for e in report["data"]["emails"]) == [
        "Pour Anna", "Pour Bert, avant"]  # hers only, the old copy read under the old key
    assert {e["to"] for e in report["data"]["emails"]} == {anna["email"], bert["email"]}
    mine = controller_scope(office.network_id, alice.user_id)
    backup = rows_of(live_mailer, alice.user_id)  # what a backup taken now holds
    assert {r.key_scope for r in backup} == {mine}  # moved before being read
    assert open_with_master(live_mailer, backup) == ["Pour Anna", "Pour Bert, avant"]
    [key_row] = read_rows(live_mailer.db_url, common.data_keys, common.data_keys.c.scope == mine)

    compliance.publish("controller_shred_requested", ask)
    [shredded] = until(lambda: compliance.eoc_reports("controller_data_shredded", contract),
                       what="the mailer's shred report")
    assert shredded["service"] == "mailer" and shredded["user_id"] == alice.user_id
    assert shredded["keys"] == [{"scope": mine,
                                 "key_id": key_fingerprint(mine, key_row["wrapped_key"])}]
    assert shredded["counts"] == {"emails": 2, "oppositions": 1, "under_network_key": 0}
    # the backup's copy cannot be opened any more, even with the master key: the key is gone
    assert open_with_master(live_mailer, backup) == [None, None]
    [gone] = read_rows(live_mailer.db_url, common.data_keys, common.data_keys.c.scope == mine)
    assert gone["wrapped_key"] is None and gone["destroyed_at"] is not None
    assert rows_of(live_mailer, alice.user_id) == []
    assert read_rows(live_mailer.db_url, email_oppositions,
                     email_oppositions.c.owner_id == alice.user_id) == []
    # Marc, same network, his own key: untouched
    assert [e["subject"] for e in history(live_mailer, carl)] == ["Pour Carl"]

    compliance.publish("controller_shred_requested", {**ask, "attempt": 2})  # asked again
    until(lambda: len(compliance.eoc_reports("controller_data_shredded", contract)) == 2)
    again = compliance.eoc_reports("controller_data_shredded", contract)[1]
    assert again == shredded  # the same counts and key ids, nothing done twice
    compliance.publish("controller_data_requested", {**ask, "attempt": 2})
    until(lambda: len(compliance.eoc_reports("controller_data_reported", contract)) == 2)
    late = compliance.eoc_reports("controller_data_reported", contract)[1]
    assert late["error"] and late["records"] == 0


def test_an_automations_email_rendered_at_send_time_is_sealed_under_the_owners_key(
        new_office, live_mailer, until) -> None:
    """The dispatcher renders an automation's email when it sends it: that copy goes under
    the owner's key at once, so a backup never holds it under the network's."""
    office = new_office()
    office.automation("meeting", office.template(subject="Bienvenue")["id"])
    lead = office.lead()
    office.move(lead, "meeting")
    until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sent"])
    [row] = rows_of(live_mailer, office.user.user_id)
    assert row.key_scope == controller_scope(office.network_id, office.user.user_id)
    assert open_with_master(live_mailer, [row]) == ["Bienvenue"]
    assert [e["subject"] for e in history(live_mailer, lead)] == ["Bienvenue"]
    with RpcClient(live_mailer.cfg["AMQP_URI"], service="leads") as rpc:
        assert rpc.mailer.rekey_controllers()["moved"] == 0  # nothing under the network key
