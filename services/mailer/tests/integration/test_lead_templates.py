"""Admin tool 2 over RPC: the network's templates, its French defaults, saving refusals that
name the line, previews, and nobody else's templates."""
from __future__ import annotations

import pytest

from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound


def test_a_new_network_gets_the_french_defaults_named_after_it(new_office) -> None:
    office = new_office("Réseau des Flandres")
    with office.rpc() as rpc:  # members read them (to pick one in the office)
        page = rpc.mailer.list_templates()
    defaults = {t["default_for_status"]: t for t in page["items"]}
    assert list(defaults) == ["new", "contacted", "meeting", "client", "distributor",
                              "not_interested"]
    assert all(t["locale"] == "fr" for t in page["items"])
    with office.rpc(office.admin) as rpc:
        shown = rpc.mailer.preview_template(defaults["distributor"]["id"])
    assert shown["subject"] == "Bienvenue dans l'équipe Réseau des Flandres, Camille"
    assert "Alice Martin" in shown["body_text"]  # the admin previews as the sender


def test_the_admin_writes_edits_and_deletes_a_template(new_office) -> None:
    office = new_office()
    created = office.template(body_text="Bonjour {{ lead.first_name }}\n{{ unsubscribe_url }}",
                              body_html="<p>{{ lead.first_name }}</p>", locale="fr-BE")
    assert created["locale"] == "fr-BE" and created["default_for_status"] is None
    with office.rpc(office.admin) as rpc:
        changed = rpc.mailer.update_template(created["id"], {
            "name": "Relance", "subject": "Relance {{ lead.last_name }}",
            "body_text": "Texte"})
        assert changed["name"] == "Relance" and changed["body_html"] is None
        assert rpc.mailer.get_template(created["id"])["subject"] == "Relance {{ lead.last_name }}"
        assert rpc.mailer.delete_template(created["id"]) == {"id": created["id"], "deleted": True}
        with pytest.raises(NotFound):
            rpc.mailer.get_template(created["id"])


def test_an_unknown_placeholder_or_a_syntax_error_is_refused_at_save_naming_the_line(
        new_office) -> None:
    office = new_office()
    with office.rpc(office.admin) as rpc:
        with pytest.raises(Invalid) as caught:
            rpc.mailer.create_template({"name": "x", "subject": "ok",
                                        "body_text": "Bonjour\n\nVotre mot de passe : {{ user.password }}"})
        assert caught.value.code == "template_invalid"
        assert caught.value.fields == {
            "body_text": "line 3: unknown placeholder user.password"}
        with pytest.raises(Invalid) as caught:
            rpc.mailer.create_template({"name": "x", "subject": "{{ lead.first_name",
                                        "body_text": "ok"})
        assert caught.value.fields["subject"].startswith("line 1: syntax error")
        ok = office.template()
        with pytest.raises(Invalid):  # an edit is checked as well
            rpc.mailer.update_template(ok["id"], {"name": "x", "subject": "s",
                                                  "body_text": "{% for a in b %}{% endfor %}"})


def test_members_read_but_only_the_admin_writes(new_office) -> None:
    office = new_office()
    with office.rpc() as rpc:
        with pytest.raises(Forbidden):
            rpc.mailer.create_template({"name": "x", "subject": "s", "body_text": "b"})
        some = rpc.mailer.list_templates()["items"][0]
        with pytest.raises(Forbidden):
            rpc.mailer.delete_template(some["id"])


def test_another_networks_templates_do_not_exist_for_me(new_office) -> None:
    mine, theirs = new_office(), new_office()
    theirs_template = theirs.template()
    with mine.rpc(mine.admin) as rpc:
        for call in (lambda: rpc.mailer.get_template(theirs_template["id"]),
                     lambda: rpc.mailer.update_template(theirs_template["id"], {
                         "name": "x", "subject": "s", "body_text": "b"}),
                     lambda: rpc.mailer.delete_template(theirs_template["id"]),
                     lambda: rpc.mailer.preview_template(theirs_template["id"]),
                     lambda: rpc.mailer.get_template("not-an-id")):
            with pytest.raises(NotFound):
                call()
        assert theirs_template["id"] not in {t["id"] for t in rpc.mailer.list_templates(
            None, 500)["items"]}


def test_a_template_an_automation_sends_cannot_be_deleted(new_office) -> None:
    office = new_office()
    template = office.template()
    rule = office.automation("meeting", template["id"])
    with office.rpc(office.admin) as rpc:
        with pytest.raises(Conflict) as caught:
            rpc.mailer.delete_template(template["id"])
        assert caught.value.code == "template_in_use"
        rpc.mailer.delete_automation(rule["id"])
        rpc.mailer.delete_template(template["id"])


def test_preview_with_one_of_my_own_leads_and_not_anyone_elses(new_office) -> None:
    office = new_office()
    template = office.template(body_text="{{ lead.first_name }} {{ lead.last_name }} de {{ lead.city }}")
    own = office.lead(owner=office.admin, first_name="Inès", last_name="Roux", city="Gand")
    members = office.lead()  # the member's, not the admin's
    with office.rpc(office.admin) as rpc:
        assert rpc.mailer.preview_template(template["id"])["body_text"] == "Camille Dupont de Lyon"
        assert rpc.mailer.preview_template(template["id"], own["lead_id"])["body_text"] == \
            "Inès Roux de Gand"
        with pytest.raises(NotFound):
            rpc.mailer.preview_template(template["id"], members["lead_id"])


def test_templates_page_with_a_cursor(new_office) -> None:
    office = new_office()
    with office.rpc() as rpc:
        first = rpc.mailer.list_templates(None, 4)
        rest = rpc.mailer.list_templates(first["next_cursor"], 4)
    assert len(first["items"]) == 4 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in rest["items"]}
