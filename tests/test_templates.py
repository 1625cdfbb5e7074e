"""User-edited templates render in a bounded sandbox."""
import pytest
from hypothesis import given, settings, strategies as st

from crmkit import ValidationError

pytestmark = pytest.mark.plugins()

PAYLOADS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ ''|attr('format') }}",
    "{{ ''|attr('__class__') }}",
    "{% include '/etc/passwd' %}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ 2 ** 10 ** 10 }}",
    "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
    "{{ self.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ config }}",
    "{% extends '/etc/passwd' %}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_are_harmless(crm, payload):
    try:
        out = crm.render_template(payload, {})
    except ValidationError as exc:
        assert "template" in exc.errors
        return
    assert "root:" not in out and "class" not in out and "globals" not in out.lower()
    assert len(out) < 300_000


def test_1c_parameters_and_literal_data(crm):
    p = crm.create("core.partner", {"name": "{{7*7}}", "public_name": "{{7*7}} #ПредставлениеПартнера#"})
    out = crm.render_template("Добрый день, #ПредставлениеПартнера#.", {"partner": p})
    assert out == "Добрый день, {{7*7}} #ПредставлениеПартнера#."
    html = crm.render_template("<p>#ПредставлениеПартнера#</p>", {"partner": p}, html=True)
    assert "{{7*7}}" in html


def test_syntax_error_names_the_field(crm):
    with pytest.raises(ValidationError) as exc:
        crm.render_template("{% if %}", {}, field="body")
    assert "body" in exc.value.errors


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_partner_name_renders(name):
    import types
    from crmkit.kernel.templates import render_user_template
    partner = types.SimpleNamespace(name=name)
    out = render_user_template("Dear {{ partner.name }}!", {"partner": partner})
    assert out == f"Dear {name}!"


def test_records_in_templates_are_read_only_views(crm):
    p = crm.create("core.partner", {"name": "Протон"})
    for payload in ("{{ partner.delete_instance() }}", "{{ partner.save() }}",
                    "{{ partner._record.delete_instance() }}", "{{ partner.contacts }}"):
        try:
            crm.render_template(payload, {"partner": p})
        except ValidationError:
            pass
    assert crm.get("core.partner", p.id).name == "Протон"
    assert crm.render_template("{{ partner.name }} / {{ partner.code }}", {"partner": p}) == \
        f"Протон / {p.code}"
    assert crm.render_template("{{ partner.name.upper() }}", {"partner": p}) == "ПРОТОН"
