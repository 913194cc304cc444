"""Templates to leads: the closed list of placeholders, refusals naming the line, the
sandbox, HTML autoescape, and the French defaults."""
from __future__ import annotations

import pytest

from mailer.domain import default_templates, templating
from mailer.domain.templating import Source
from suivi_common.errors import Invalid

LEAD = {"first_name": "Léa", "last_name": "Martin", "city": "Lille", "email": "lea@example.test"}
USER = {"first_name": "Bruno", "last_name": "Durand", "phone": "+33612345678",
        "email": "bruno@example.org", "password_hash": "secret"}
URL = "https://app.suivi.test/unsubscribe/u1abc"


def values() -> dict:
    return templating.context(LEAD, USER, "Réseau Nord", URL)


def test_every_listed_placeholder_renders() -> None:
    source = Source("Bonjour {{ lead.first_name }}",
                    "{{ lead.first_name }} {{ lead.last_name }} ({{ lead.city }})\n"
                    "{{ user.first_name }} {{ user.last_name }} {{ user.phone }} {{ user.email }}\n"
                    "{{ network.name }} {{ unsubscribe_url }}\n")
    templating.check(source)
    out = templating.render(source, values())
    assert out.subject == "Bonjour Léa"
    assert out.text == ("Léa Martin (Lille)\nBruno Durand +33612345678 bruno@example.org\n"
                        f"Réseau Nord {URL}\n")
    assert out.html is None


def test_conditions_and_harmless_filters_are_allowed() -> None:
    source = Source("x", "{% if lead.city %}à {{ lead.city | upper }}{% else %}chez vous{% endif %}"
                         " {{ user.phone | default('-') }}")
    templating.check(source)
    assert templating.render(source, values()).text == "à LILLE +33612345678"


@pytest.mark.parametrize("text, expected", [
    ("Bonjour\n\n{{ lead.email }}", "line 3: unknown placeholder lead.email"),
    ("{{ user.password_hash }}", "line 1: unknown placeholder user.password_hash"),
    ("a\n{{ secret }}", "line 2: unknown placeholder secret"),
    ("{{ lead }}", "line 1: lead is not a placeholder by itself"),
    ("x\ny\n{{ lead.first_name.__class__ }}", "line 3: unknown placeholder"),
    ("{{ lead['first_name'] }}", "line 1: write placeholders as lead.first_name"),
    ("{% for x in lead %}{{ x }}{% endfor %}", "line 1: {% for %} is not allowed"),
    ("\n{% set a = 1 %}", "line 2: {% set %} is not allowed"),
    ("{{ lead.first_name.upper() }}", "line 1: calls are not allowed"),
    ("{{ lead.first_name | attr('x') }}", "line 1: the filter attr is not allowed"),
    ("{{ 'a' * 100000000 }}", "line 1: this expression is not allowed"),
    ("{% include 'x' %}", "line 1: {% include %} is not allowed"),
    ("Bonjour\n{{ lead.first_name }", "line 2: syntax error"),
    ("ok\nok\n{% if lead.city %}", "line 3: syntax error"),
])
def test_anything_else_is_refused_naming_the_line(text: str, expected: str) -> None:
    with pytest.raises(Invalid) as caught:
        templating.check(Source("Sujet", text))
    assert caught.value.code == "template_invalid"
    assert caught.value.fields["body_text"].startswith(expected), caught.value.fields


def test_each_part_is_checked_and_named() -> None:
    with pytest.raises(Invalid) as caught:
        templating.check(Source("{{ lead.phone }}", "ok", "<p>{{ nope }}</p>"))
    assert set(caught.value.fields) == {"subject", "body_html"}
    assert "user.first_name" in caught.value.message  # the allowed list is said


def test_html_is_autoescaped_and_text_is_not_and_subject_is_one_line() -> None:
    evil = {"first_name": '<script>alert("x")</script>', "last_name": "a\r\nBcc: x@evil.test"}
    source = Source("Hi {{ lead.last_name }}", "{{ lead.first_name }}",
                    "<p>{{ lead.first_name }}</p>")
    out = templating.render(source, templating.context(evil, USER, "", URL))
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert out.text == '<script>alert("x")</script>'
    assert out.subject == "Hi a Bcc: x@evil.test"  # no line break can reach the header


def test_the_sandbox_holds_even_without_the_check() -> None:
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        templating.render(Source("x", "{{ ''.__class__.__mro__[1].__subclasses__() }}"), values())


def test_missing_values_render_empty() -> None:
    out = templating.render(Source("x", "[{{ user.phone }}]"),
                            templating.context({}, {"first_name": None}, None, URL))
    assert out.text == "[]"


def test_every_default_template_is_valid_and_french_for_each_default_status() -> None:
    statuses = [d.status for d in default_templates.DEFAULTS]
    assert statuses == ["new", "contacted", "meeting", "client", "distributor", "not_interested"]
    for d in default_templates.DEFAULTS:
        source = Source(d.subject, d.body_text)
        templating.check(source)
        out = templating.render(source, values())
        assert "Bonjour Léa" in out.text and "Bruno Durand" in out.text and URL in out.text


def test_a_template_is_compiled_once_and_an_edit_is_a_new_one() -> None:
    """The compiled cache is keyed by the source itself: the second email of a template
    costs no compile, and an edited template can never render its old text."""
    templating.compiled.cache_clear()
    source = Source("Pour {{ lead.first_name }}", "Bonjour {{ lead.first_name }}",
                    "<p>{{ lead.first_name }}</p>")
    first = templating.render(source, values())
    again = templating.render(source, templating.context({**LEAD, "first_name": "Hugo"}, USER,
                                                         "Réseau Nord", URL))
    info = templating.compiled.cache_info()
    assert (info.misses, info.hits) == (3, 3)
    assert (first.text, again.text, again.subject) == ("Bonjour Léa", "Bonjour Hugo", "Pour Hugo")
    edited = Source(source.subject, "Rebonjour {{ lead.first_name }}", source.html)
    assert templating.render(edited, values()).text == "Rebonjour Léa"
    # the same text as HTML is escaped, as text it is not: two entries
    tricky = Source("x", "{{ lead.last_name }}", "{{ lead.last_name }}")
    out = templating.render(tricky, templating.context({**LEAD, "last_name": "<b>"}, USER,
                                                       None, URL))
    assert (out.text, out.html) == ("<b>", "&lt;b&gt;")
