"""The sandboxed template engine: what authors may write, what is refused when a template
is saved (with the line), and how values reach the output."""

import pytest

from django_petmail.rendering.sandbox import CompiledTemplate, TemplateError, compile_template


def render(source, context=None, *, html=True, missing=None):
    return compile_template(source, html=html).render(context or {}, missing)


def refusal(source, *, html=True):
    with pytest.raises(TemplateError) as excinfo:
        compile_template(source, html=html)
    return str(excinfo.value)


# --- what authors may use ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        ("Hola {{ first_name }}", {"first_name": "Ana"}, "Hola Ana"),
        ("{{ first_name|upper }}", {"first_name": "Ana"}, "ANA"),
        ("{{ first_name|lower|capitalize }}", {"first_name": "aNA"}, "Ana"),
        ("{{ nombre|default('Amigo') }}", {}, "Amigo"),
        ("{{ pets|join(', ') }}", {"pets": ["Luna", "Coco"]}, "Luna, Coco"),
        ("{{ pets|length }}", {"pets": ["Luna", "Coco"]}, "2"),
        ("{{ pets|first }}/{{ pets|last }}", {"pets": ["Luna", "Coco"]}, "Luna/Coco"),
        ("{{ pets|sort|join(',') }}", {"pets": ["b", "a"]}, "a,b"),
        ("{{ total|round(1) }}", {"total": 12.345}, "12.3"),
        ("{{ '%.2f'|format(total) }}", {"total": 3.14159}, "3.14"),
        ("{{ text|truncate(9) }}", {"text": "una frase bastante larga"}, "una..."),
        ("{{ name|title }}", {"name": "luna la gata"}, "Luna La Gata"),
        ("{{ name|replace('a', 'o') }}", {"name": "Luna"}, "Luno"),
        ("{{ name|trim }}", {"name": "  Luna  "}, "Luna"),
        ("{{ q|urlencode }}", {"q": "a b&c"}, "a%20b%26c"),
        ("{% if vip %}VIP{% else %}normal{% endif %}", {"vip": True}, "VIP"),
        ("{% if vip %}VIP{% else %}normal{% endif %}", {"vip": False}, "normal"),
        ("{% if n is even %}par{% endif %}", {"n": 4}, "par"),
        ("{% if pets|length > 1 %}varias{% endif %}", {"pets": [1, 2]}, "varias"),
        (
            "{% for pet in pets %}{{ loop.index }}.{{ pet.name }} {% endfor %}",
            {"pets": [{"name": "Luna"}, {"name": "Coco"}]},
            "1.Luna 2.Coco ",
        ),
        ("{% for p in pets %}{{ p }}{% else %}ninguna{% endfor %}", {"pets": []}, "ninguna"),
        (
            "{% for p in pets %}{{ p }}{% if not loop.last %}, {% endif %}{% endfor %}",
            {"pets": ["Luna", "Coco", "Toby"]},
            "Luna, Coco, Toby",
        ),
        (
            "{% for p in pets %}{{ loop.index0 }}/{{ loop.length }}{{ loop.first }} {% endfor %}",
            {"pets": ["Luna", "Coco"]},
            "0/2True 1/2False ",
        ),
        ("{% for p in pets %}[{{ loop.previtem }}]{% endfor %}", {"pets": ["Luna"]}, "[]"),
        ("{% set saludo = 'Hola' %}{{ saludo }} {{ n }}", {"n": "Ana"}, "Hola Ana"),
        ("{{ pet['name'] }}", {"pet": {"name": "Luna"}}, "Luna"),
        ("{{ pets[1] }}", {"pets": ["Luna", "Coco"]}, "Coco"),
        ("{% raw %}{{ literal }}{% endraw %}", {}, "{{ literal }}"),
        ("", {}, ""),
    ],
)
def test_allowed_tokens_filters_loops_and_conditions(source, context, expected):
    assert render(source, context) == expected


def test_html_values_are_escaped():
    html = render("<p>{{ name }}</p>", {"name": '<script>alert("x")</script> & co'})
    assert html == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</p>"


def test_html_markup_written_by_the_author_is_kept():
    assert render('<a href="{{ url }}">Ir</a>', {"url": "https://x.test/?a=1&b=2"}) == (
        '<a href="https://x.test/?a=1&amp;b=2">Ir</a>'
    )


@pytest.mark.parametrize("source", ["{{ name }}", "Asunto: {{ name }}!"])
def test_subject_and_text_are_not_escaped(source):
    name = "Tom & Jerry <gatos>"
    assert name in render(source, {"name": name}, html=False)


# --- refused when saved -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('{% include "x.html" %}', "line 1: {% include %} is not allowed"),
        ('{% import "macros.html" as m %}', "line 1: {% import %} is not allowed"),
        ('{% extends "base.html" %}', "line 1: {% extends %} is not allowed"),
        ('{% from "macros.html" import m %}', "line 1: {% from … import %} is not allowed"),
        ("{{ first_name.upper() }}", "line 1: calling functions or methods is not allowed"),
        ("{{ range(10) }}", "line 1: calling functions or methods is not allowed"),
        ("{{ name|replace(x(), 'y') }}", "line 1: calling functions or methods is not allowed"),
        (
            "{% macro m() %}x{% endmacro %}{{ m() }}",
            "line 1: calling functions or methods is not allowed",
        ),
        ("{{ _x }}", "line 1: names starting with '_' are not allowed"),
        ("{{ a.__class__ }}", "line 1: names starting with '_' are not allowed"),
        ("{{ a._private }}", "line 1: names starting with '_' are not allowed"),
        ("{% for _p in pets %}{% endfor %}", "line 1: names starting with '_' are not allowed"),
        ("{% load i18n %}", "line 1: Encountered unknown tag 'load'"),
        ("{% debug %}", "line 1: Encountered unknown tag 'debug'"),
        ("{% csrf_token %}", "line 1: Encountered unknown tag 'csrf_token'"),
        ("{{ name|bogus }}", "line 1: No filter named 'bogus'"),
        ("{{ name|attr('upper') }}", "line 1: No filter named 'attr'"),
        ("{{ pets|map('upper') }}", "line 1: No filter named 'map'"),
        ("{{ name|pprint }}", "line 1: No filter named 'pprint'"),
        ("{% if name is callable %}x{% endif %}", "line 1: No test named 'callable'"),
        ("{% if name is sameas(name) %}x{% endif %}", "line 1: No test named 'sameas'"),
        (
            "{% for p in pets %}{{ loop.cycle('a', 'b') }}{% endfor %}",
            "line 1: calling functions or methods is not allowed",
        ),
        ("{% for p in pets %}{{ loop._iterator }}{% endfor %}", "line 1: names starting with"),
        ("{% for p in pets %}", "line 1: Unexpected end of template"),
        ("{{ name ", "line 1: unexpected end of template"),
    ],
)
def test_forbidden_constructs_are_refused_at_compile_time(source, message):
    for html in (True, False):
        assert refusal(source, html=html).startswith(message)


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("<p>Hola</p>\n\n{{ first_name.upper() }}", 3),
        ("uno\ndos\n{% include 'x' %}", 3),
        ("a\n{{ _secret }}", 2),
        ("a\nb\nc\nd\n{{ x|bogus }}", 5),
        ("a\n{% load i18n %}", 2),
    ],
)
def test_refusals_name_the_line(source, line):
    assert refusal(source).startswith(f"line {line}: ")


def test_refusal_is_a_value_error_for_callers_that_validate():
    with pytest.raises(ValueError, match="include"):
        compile_template("{% include 'x' %}", html=True)


# --- what the sandbox exposes -----------------------------------------------------------------


class Secretive:
    secret = "s3cr3t"

    def reveal(self):  # pragma: no cover - the point is that it is never called
        return self.secret


@pytest.mark.parametrize(
    ("source", "context"),
    [
        ("{{ first_name.upper }}", {"first_name": "ana"}),
        ("{{ pets.append }}", {"pets": []}),
        ("{{ pet.items }}", {"pet": {"name": "Luna"}}),
        ("{{ obj.secret }}", {"obj": Secretive()}),
        ("{{ obj.reveal }}", {"obj": Secretive()}),
        ("{{ obj['secret'] }}", {"obj": Secretive()}),
        ("{{ a['__class__'] }}", {"a": {"b": 1}}),
        ("{{ pet.missing }}", {"pet": {"name": "Luna"}}),
        ("{{ pets[5] }}", {"pets": ["Luna"]}),
        ("{{ range }}{{ lipsum }}{{ cycler }}{{ namespace }}{{ dict }}", {}),
        ("{{ config }}{{ settings }}{{ request }}", {}),
    ],
)
def test_only_dictionary_keys_are_reachable(source, context):
    assert render(source, context) == ""


def test_attribute_syntax_reads_dictionary_keys():
    assert render(
        "{{ pet.name }} ({{ pet.species }})", {"pet": {"name": "Luna", "species": "gata"}}
    )
    assert render("{{ pet.name }}", {"pet": {"name": "Luna"}}) == "Luna"
    assert render("{{ owner.pet.name }}", {"owner": {"pet": {"name": "Coco"}}}) == "Coco"


def test_unknown_tokens_render_empty_and_are_reported():
    missing = set()
    output = render(
        "Hola {{ first_name }}{{ apodo }}, {{ descuento }}% {{ pet.name }}",
        {"first_name": "Ana"},
        missing=missing,
    )
    assert output == "Hola Ana, % "
    assert missing == {"apodo", "descuento", "pet"}


def test_known_tokens_are_not_reported_and_locals_are_not_tokens():
    template = compile_template(
        "{% set x = 1 %}{% for p in pets %}{{ p }}{{ loop.index }}{% endfor %}{{ x }}", html=True
    )
    assert template.variables == frozenset({"pets"})
    missing = set()
    template.render({"pets": ["a"]}, missing)
    assert missing == set()


def test_a_template_is_compiled_once_and_rendered_for_many_contexts():
    template = compile_template("<p>Hola {{ first_name }}, {{ pet_name }}</p>", html=True)
    assert isinstance(template, CompiledTemplate)
    assert template.variables == frozenset({"first_name", "pet_name"})
    compiled = template._template
    outputs = [
        template.render({"first_name": name, "pet_name": pet})
        for name, pet in [("Ana", "Luna"), ("Luis", "Coco"), ("Eva", "<Toby>")]
    ]
    assert outputs == [
        "<p>Hola Ana, Luna</p>",
        "<p>Hola Luis, Coco</p>",
        "<p>Hola Eva, &lt;Toby&gt;</p>",
    ]
    assert template._template is compiled


def test_render_does_not_change_the_callers_context():
    context = {"first_name": "Ana"}
    render("{% set first_name = 'Otro' %}{{ first_name }}", context)
    assert context == {"first_name": "Ana"}


def test_errors_while_rendering_become_template_errors():
    template = compile_template("{{ 10 / n }}", html=False)
    assert template.render({"n": 4}) == "2.5"
    with pytest.raises(TemplateError, match="cannot be rendered"):
        template.render({"n": 0})


def test_a_mutating_method_is_refused_even_on_data():
    with pytest.raises(TemplateError, match="calling functions"):
        compile_template("{{ pets.append(1) }}", html=True)


@pytest.mark.parametrize(
    "source",
    [
        '{{ "a" * 100000000 }}',
        "{{ [1] * 100000000 }}",
        "{{ 100000000 * 'ab' }}",
        "{{ 2 ** 10000000 }}",
    ],
)
def test_templates_cannot_build_huge_values(source):
    template = compile_template(source, html=False)
    with pytest.raises(TemplateError, match="not allowed"):
        template.render({})


def test_ordinary_arithmetic_still_works():
    assert (
        compile_template("{{ '-' * 10 }} {{ 3 * 4 }} {{ 2 ** 8 }}", html=False).render({})
        == "---------- 12 256"
    )
