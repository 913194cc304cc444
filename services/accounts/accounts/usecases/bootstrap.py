"""First start of a platform: publish the initial terms and create the first staff
account from ``SUIVI_STAFF_EMAIL`` / ``SUIVI_STAFF_PASSWORD`` when no staff exists. Every
start also indexes phones stored before their blind index existed (``index_phones``).

Idempotent and safe with several instances starting together: the whole run holds a
transaction-level advisory lock, and the email's unique blind index backs it up.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from accounts import settings
from accounts.adapters import password_hasher
from accounts.domain import passwords
from accounts.domain.accounts import AccountStatus
from accounts.domain.profile import ProfileError, normalise_email
from accounts.models import common
from accounts.usecases import staff, terms
from accounts.usecases.context import Ctx
from accounts.usecases.users import find_by_email, index_phones, insert_user
from suivi_common import clock, outbox
from suivi_common.crypto import KeyRing, Vault
from suivi_common.database import autonomous

log = logging.getLogger(__name__)
BOOTSTRAP_LOCK = 0x5_A1_7E_B0  # any constant shared by all instances


def run(engine: Engine, keyring: KeyRing) -> None:
    with autonomous(engine) as session:
        session.execute(select(func.pg_advisory_xact_lock(BOOTSTRAP_LOCK)))
        terms.seed_initial(session)

        def emit(event_type: str, payload: Any) -> Any:
            return outbox.emit(session, common, event_type, payload)

        ctx = Ctx(session=session, vault=Vault(keyring, session),
                  emit=emit, engine=engine, principal=None)
        indexed = index_phones(ctx)
        if indexed:
            log.info("phone blind index filled for %d existing users", indexed)
        credentials = settings.bootstrap_staff()
        if credentials is None:
            return
        if staff.staff_exists(ctx):
            return
        email, password = credentials
        try:
            address = normalise_email(email)
        except ProfileError:
            log.error("SUIVI_STAFF_EMAIL is not a valid email; no staff account created")
            return
        if len(password) < passwords.MIN_LENGTH:
            log.error("SUIVI_STAFF_PASSWORD is shorter than %d characters; no staff account "
                      "created", passwords.MIN_LENGTH)
            return
        if find_by_email(ctx, address) is not None:
            log.error("SUIVI_STAFF_EMAIL belongs to a member account; no staff account created")
            return
        insert_user(ctx, network_id=None, role="staff", status=AccountStatus.ACTIVE.value,
                    email=address, first_name=None, last_name=None, now=clock.now(),
                    password_hash=password_hasher.hash_password(password))
        log.info("bootstrap staff account created")
