"""Issue 14 §2 over HTTP: changing the password, the sessions' list and revocation, and
reset links that last an hour on the platform clock."""
from __future__ import annotations

import re
import uuid
from typing import Any

from suivi_common.testing.waiting import wait_for
from tests.e2e.scenario import step
from tools.api_client import Api, Mailbox, login_staff
from tools.platform import DEV_STAFF

NEW_PASSWORD = "Brass-Kettle-Meadow-93"
RESET_SUBJECT = "Réinitialisation"
CHANGED_SUBJECT = "Le mot de passe de votre compte Suivi a changé"


def new_compliance(base_url: str) -> Api:
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    Api(base_url).login(*DEV_STAFF).post("/api/staff/users", {
        "email": email, "password": NEW_PASSWORD, "role": "compliance"}, expect=201)
    return login_staff(base_url, email, NEW_PASSWORD)


def log_in(base_url: str, email: str, password: str, user_agent: str = "e2e-client/1.0") -> Api:
    body = Api(base_url).post("/api/auth/login", {"email": email, "password": password},
                              headers={"User-Agent": user_agent}, expect=200)
    return Api(base_url, body["token"])


def assert_no_secret(mailbox: Mailbox, notice: Any, says: str) -> None:
    """A "your password was changed" notice: French, how, and no password nor link."""
    text = mailbox.text_of(notice)
    assert says in text and "Bonjour" in text
    assert NEW_PASSWORD not in text and "Correct-Horse-Battery-42" not in text
    assert "token" not in text and "set-password" not in text
    links = re.findall(r"https?://\S+", text)
    assert links and all("?" not in u and u.count("/") == 3 for u in links), links  # the site only


def test_a_password_change_ends_the_other_sessions_and_a_wrong_one_changes_nothing(
        base_url: str, make_network: Any, mailbox: Mailbox) -> None:
    _, admin = make_network(password="Correct-Horse-Battery-42")
    other = log_in(base_url, admin.email, "Correct-Horse-Battery-42")

    with step("a wrong current password is refused and nothing changes"):
        status, body = admin.call("POST", "/api/me/password", {
            "current_password": "Not-The-Password-11", "new_password": NEW_PASSWORD})
        assert status == 403 and body["error"]["code"] == "current_password_wrong", body
        assert other.get("/api/me")["email"] == admin.email
        log_in(base_url, admin.email, "Correct-Horse-Battery-42")

    with step("the new password follows the policy"):
        status, body = admin.call("POST", "/api/me/password", {
            "current_password": "Correct-Horse-Battery-42", "new_password": "short"})
        assert status == 400 and "new_password" in body["error"]["fields"], body
        assert other.get("/api/me")["email"] == admin.email

    with step("the change ends every other session at once, the caller's stays valid"):
        result = admin.post("/api/me/password", {"current_password": "Correct-Horse-Battery-42",
                                                  "new_password": NEW_PASSWORD}, expect=200)
        assert result["revoked_sessions"] >= 2
        status, body = other.call("GET", "/api/me")
        assert status == 401, body
        assert admin.get("/api/me")["email"] == admin.email
        status, _ = Api(base_url).call("POST", "/api/auth/login", {
            "email": admin.email, "password": "Correct-Horse-Battery-42"})
        assert status == 401
        log_in(base_url, admin.email, NEW_PASSWORD)

    with step("the user is told by email, with nothing secret in it"):
        notice = mailbox.wait_for(admin.email, CHANGED_SUBJECT, timeout=90.0)
        assert_no_secret(mailbox, notice, "depuis une session")


def test_sessions_are_listed_and_revoked_only_by_their_owner(
        base_url: str, make_network: Any, invite_member: Any) -> None:
    _, admin = make_network(password="Correct-Horse-Battery-42")
    _, member = invite_member(admin)
    laptop = log_in(base_url, admin.email, "Correct-Horse-Battery-42", "Laptop-Browser/2.0")
    phone = log_in(base_url, admin.email, "Correct-Horse-Battery-42", "Phone-Browser/3.1")

    with step("the list shows where each session came from and which one is current"):
        listed = laptop.get("/api/me/sessions")["items"]
        assert len(listed) == 3  # onboarding's, the laptop's, the phone's
        current = [s for s in listed if s["current"]]
        assert [s["user_agent"] for s in current] == ["Laptop-Browser/2.0"]
        assert {s["user_agent"] for s in listed} >= {"Laptop-Browser/2.0", "Phone-Browser/3.1"}
        assert all(s["ip"] == "127.0.0.1" and s["last_used_at"] for s in listed)
        assert laptop.token not in str(listed) and phone.token not in str(listed)

    with step("another user's session id is not found, and that session lives on"):
        member_session = member.get("/api/me/sessions")["items"][0]["id"]
        status, body = laptop.call("DELETE", f"/api/me/sessions/{member_session}")
        assert status == 404, body
        status, _ = laptop.call("DELETE", "/api/me/sessions/not-a-session")
        assert status == 404
        assert member.get("/api/me")["id"]

    with step("revoking one session ends it at once"):
        phone_id = next(s["id"] for s in listed if s["user_agent"] == "Phone-Browser/3.1")
        assert laptop.call("DELETE", f"/api/me/sessions/{phone_id}", expect=200)[1] == {"revoked": 1}
        status, _ = phone.call("GET", "/api/me")
        assert status == 401
        assert laptop.get("/api/me")["email"] == admin.email

    with step("revoking all the others leaves only the caller's"):
        assert laptop.call("DELETE", "/api/me/sessions", expect=200)[1] == {"revoked": 1}
        status, _ = admin.call("GET", "/api/me")  # onboarding's session
        assert status == 401
        assert [s["current"] for s in laptop.get("/api/me/sessions")["items"]] == [True]
        assert member.get("/api/me")["id"]


def test_a_reset_link_expires_after_an_hour_on_the_platform_clock(
        base_url: str, make_network: Any, mailbox: Mailbox, moved_clock: Any) -> None:
    _, admin = make_network(password="Correct-Horse-Battery-42")
    anon = Api(base_url)

    def reset_links() -> list[str]:
        found = []
        for msg in mailbox.messages():
            if admin.email in str(msg.get("To", "")) and RESET_SUBJECT in str(msg.get("Subject", "")):
                match = re.search(r"set-password\?token=([A-Za-z0-9_\-]+)", mailbox.text_of(msg))
                if match:
                    found.append(match.group(1))
        return found

    def ask_for_reset(count: int) -> str:
        moved_clock.forward(120)  # past the one-email-a-minute bound of resets
        anon.post("/api/auth/password-reset", {"email": admin.email}, expect=202)
        wait_for(lambda: len(reset_links()) >= count, what=f"reset email number {count}")
        return reset_links()[count - 1]

    with step("a reset link is dead past one hour"):
        link = ask_for_reset(1)
        moved_clock.forward(3660)
        status, body = anon.call("POST", "/api/auth/set-password",
                                 {"token": link, "password": NEW_PASSWORD})
        assert status == 400 and body["error"]["code"] == "token_invalid", body

    with step("a fresh one works within the hour"):
        link = ask_for_reset(2)
        moved_clock.forward(3000)
        anon.post("/api/auth/set-password", {"token": link, "password": NEW_PASSWORD}, expect=200)
        log_in(base_url, admin.email, NEW_PASSWORD)

    with step("the reset is told by email (the invitation's first password was not)"):
        notice = mailbox.wait_for(admin.email, CHANGED_SUBJECT, timeout=90.0)
        assert_no_secret(mailbox, notice, "lien de réinitialisation")
        assert link not in mailbox.text_of(notice)
        assert sum(CHANGED_SUBJECT in str(m.get("Subject", "")) and admin.email in str(m.get("To", ""))
                   for m in mailbox.messages()) == 1


def test_an_email_changes_through_the_link_and_the_old_address_is_told(
        base_url: str, make_network: Any, mailbox: Mailbox, moved_clock: Any,
        unique: str) -> None:
    _, admin = make_network(password="Correct-Horse-Battery-42")
    old_address, new_address = admin.email, f"moved-{unique}@example.org"
    other = log_in(base_url, old_address, "Correct-Horse-Battery-42")
    moved_clock.forward(120)  # past the invitation's one-link-a-minute bound

    with step("asking sends a link to the new address and changes nothing yet"):
        status, body = admin.call("POST", "/api/me/email", {
            "new_email": new_address, "current_password": "Wrong-Password-Here-1"})
        assert status == 403 and body["error"]["code"] == "current_password_wrong", body
        admin.post("/api/me/email", {"new_email": new_address,
                                     "current_password": "Correct-Horse-Battery-42"}, expect=202)
        msg = mailbox.wait_for(new_address, "Confirmez", timeout=90.0)
        match = re.search(r"confirm-email\?token=([A-Za-z0-9_\-]+)", mailbox.text_of(msg))
        assert match, mailbox.text_of(msg)
        assert admin.get("/api/me")["email"] == old_address
        status, body = admin.call("PATCH", "/api/me", {"email": new_address})
        assert status == 400 and body["error"]["code"] == "email_change_needs_confirmation"

    with step("the link changes it, tells the old address and ends the other sessions"):
        done = admin.post("/api/auth/confirm-email", {"token": match.group(1)}, expect=200)
        assert done == {"email": new_address}
        assert admin.get("/api/me")["email"] == new_address
        assert other.call("GET", "/api/me")[0] == 401
        notice = mailbox.wait_for(old_address, "a changé", timeout=90.0)
        assert new_address not in mailbox.text_of(notice)
        log_in(base_url, new_address, "Correct-Horse-Battery-42")

    with step("the change is in the audit trail, without either address"):
        compliance = new_compliance(base_url)
        admin_id = admin.get("/api/me")["id"]

        def audited() -> Any:
            items = compliance.get("/api/compliance/audit?kind=email.changed&limit=500")["items"]
            return next((e for e in items if e["subject"]["id"] == admin_id), None)

        entry = wait_for(audited, what="email.changed audited")
        assert old_address not in str(entry) and new_address not in str(entry)


def invite_twice(admin: Api, email: str) -> list[tuple[int, Any]]:
    """The same address invited twice by one admin: both answers."""
    return [admin.call("POST", "/api/network/members",
                       {"email": email, "first_name": "Chloé", "last_name": "Petit"})
            for _ in range(2)]


def shape(answer: tuple[int, Any]) -> tuple[int, Any]:
    """An answer without what differs by nature (the id, the address, the time)."""
    status, body = answer
    if "error" in body:
        return status, body
    return status, {k: v for k, v in body.items() if k not in {"id", "email", "invited_at"}}


def test_an_invitation_does_not_tell_an_address_used_in_another_network(
        base_url: str, make_network: Any, mailbox: Mailbox) -> None:
    """Issue 14 §2: a fresh address and one with an account in another network get the
    same answers, invited once (the member) and twice (``email_taken``, as any address
    already invited in the admin's own network); both read back by id and in the member
    list, take an access level, open as an office not begun. A conflict inside the admin's
    own network is still told. Compliance audits the masked invitation."""
    _, alice = make_network()
    _, bob = make_network()
    fresh_address = f"fresh-{uuid.uuid4().hex[:8]}@example.org"

    def mail_to_alice() -> int:
        return sum(alice.email in str(m.get("To", "")) for m in mailbox.messages())

    before = mail_to_alice()
    with step("an address with an account in another network, then a fresh one, twice each"):
        elsewhere = invite_twice(bob, alice.email)
        fresh = invite_twice(bob, fresh_address)
    with step("the same status and body, field for field, each time"):
        assert fresh[0][0] == 201 and fresh[1][0] == 409, fresh
        assert [shape(a) for a in elsewhere] == [shape(a) for a in fresh], (elsewhere, fresh)
        assert set(elsewhere[0][1]) == set(fresh[0][1])
        assert elsewhere[0][1]["email"] == alice.email
        assert fresh[1][1]["error"]["code"] == "email_taken"
    with step("both read back as an invited member of the admin's network, by id and listed"):
        read = [bob.call("GET", f"/api/network/members/{a[0][1]['id']}") for a in (fresh, elsewhere)]
        assert [status for status, _ in read] == [200, 200], read
        assert shape(read[0]) == shape(read[1])
        assert read[1][1]["email"] == alice.email
        listed = {m["id"]: m for m in bob.get("/api/network/members")["items"]}
        assert shape((200, listed[fresh[0][1]["id"]])) == shape((200, listed[elsewhere[0][1]["id"]]))
    with step("both take an access level and open as an office not begun, alike"):
        level = bob.post("/api/network/access-levels", {"name": f"Niveau {fresh_address[:12]}",
                                                        "permissions": []}, expect=201)
        ids = [fresh[0][1]["id"], elsewhere[0][1]["id"]]
        put = [bob.call("PUT", f"/api/network/members/{i}/access-level",
                        {"access_level_id": level["id"]}) for i in ids]
        assert shape(put[0]) == shape(put[1]) and put[0][1]["access_level_id"] == level["id"]
        assert [bob.get(f"/api/network/members/{i}")["access_level_id"] for i in ids] == \
            [level["id"]] * 2
        offices = [bob.call("GET", f"/api/network/members/{i}/office") for i in ids]
        assert [o[0] for o in offices] == [200, 200], offices
        assert {k: v for k, v in offices[0][1].items() if k != "member"} == \
            {k: v for k, v in offices[1][1].items() if k != "member"}
        for tail in ("leads", "documents"):  # an office not begun holds nothing
            seen = [bob.call("GET", f"/api/network/members/{i}/{tail}") for i in ids]
            assert seen[0] == seen[1], (tail, seen)
        status, body = bob.call("DELETE", f"/api/network/access-levels/{level['id']}")
        assert status == 409, body  # held by both
        moved = bob.call("DELETE", f"/api/network/access-levels/{level['id']}?replacement_id="
                         + next(x["id"] for x in bob.get("/api/network/access-levels")["items"]
                                if x["is_default"]))
        assert moved[0] == 200 and moved[1]["members_moved"] == 2, moved
        status, _ = alice.call("GET", f"/api/network/members/{elsewhere[0][1]['id']}")
        assert status == 404  # another network's invitation is not found
    with step("the account elsewhere is untouched: no link mailed, still in its own network"):
        mailbox.wait_for(fresh_address, "", timeout=90.0)  # emitted after alice's would be
        assert mail_to_alice() == before
        assert alice.get("/api/me")["email"] == alice.email
        assert alice.get("/api/network")["id"] != bob.get("/api/network")["id"]
    with step("a conflict inside the admin's own network is still told"):
        status, body = alice.call("POST", "/api/network/members", {
            "email": alice.email, "first_name": "A", "last_name": "B"})
        assert status == 409 and body["error"]["code"] == "email_taken"
    with step("compliance sees the masked invitation in the audit trail, without the address"):
        compliance = new_compliance(base_url)
        network_id = bob.get("/api/network")["id"]

        def audited() -> Any:
            items = compliance.get("/api/compliance/audit?kind=invitation.masked&limit=500")["items"]
            return next((e for e in items if e["subject"]["id"] == network_id), None)

        entry = wait_for(audited, what="invitation.masked audited")
        assert entry["details"]["invitation_id"] == elsewhere[0][1]["id"]
        assert alice.email not in str(entry)
