"""Composing a message once: layout, header image, footer, postal address and links around
the content; CSS inlined once; the text part derived from the HTML; errors name the field."""

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import override_settings
from django.utils import translation

from django_petmail.rendering.compose import compile_content
from django_petmail.rendering.html import html_to_text, inline_css
from django_petmail.rendering.sandbox import TemplateError
from tests.factories import TemplateFactory

POSTAL = "Calle Mayor 1, 28013 Madrid"
CONTEXT = {
    "first_name": "Ana",
    "pet_name": "Luna",
    "language": "es",
    "preview_text": "Solo esta semana",
    "site_url": "https://clinic.test",
    "unsubscribe_url": "https://clinic.test/petmail/unsubscribe/TOKEN-U/",
    "preferences_url": "https://clinic.test/petmail/preferences/TOKEN-P/",
    "view_online_url": "https://clinic.test/petmail/view/TOKEN-V/",
}


def compose(**kwargs):
    kwargs.setdefault("subject", "Hola {{ first_name }}")
    kwargs.setdefault("html", "<p>Hola {{ first_name }}, mima a {{ pet_name }}.</p>")
    return compile_content(**kwargs)


def rendered(content, **extra):
    # the postal address is a context value (recipient_context() puts the setting there)
    postal = {"postal_address": settings.PETMAIL.get("POSTAL_ADDRESS", "")}
    return content.render(CONTEXT | postal | extra)


# --- layout -----------------------------------------------------------------------------------


def test_layout_wraps_the_content_with_footer_links_and_postal_address():
    html = rendered(compose()).html
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="es">' in html
    assert "Hola Ana, mima a Luna." in html
    footer = html[html.index("Hola Ana") :]
    for name in ("view_online_url", "preferences_url", "unsubscribe_url"):
        assert f'href="{CONTEXT[name]}"' in footer
    assert "Ver en el navegador" in footer
    assert "Preferencias de email" in footer
    assert "Darse de baja" in footer
    assert POSTAL in footer


def test_postal_address_comes_from_the_setting():
    with override_settings(PETMAIL={**settings.PETMAIL, "POSTAL_ADDRESS": "Rúa Nova 7, Lugo"}):
        content = compose()
        assert "Rúa Nova 7, Lugo" in rendered(content).html
        assert "Rúa Nova 7, Lugo" in rendered(content).text
        assert POSTAL not in rendered(content).html


def test_postal_address_is_data_not_template_source():
    """An address containing template syntax is printed, never evaluated."""
    odd = "Calle {{ settings }} 3 & {% include 'x' %}"
    with override_settings(PETMAIL={**settings.PETMAIL, "POSTAL_ADDRESS": odd}):
        content = compose()
        html = rendered(content).html
    assert "Calle {{ settings }} 3 &amp; {% include &#39;x&#39; %}" in html


def test_no_postal_address_no_paragraph():
    with override_settings(PETMAIL={**settings.PETMAIL, "POSTAL_ADDRESS": ""}):
        content = compose()
        assert "postal_address" not in content.html.source


@pytest.mark.django_db
def test_template_contributes_header_image_and_footer():
    template = TemplateFactory(
        footer_html="<p>Síguenos, {{ first_name }}</p>",
        header_image=ContentFile(b"GIF89a", name="logo.gif"),
    )
    html = rendered(compose(template=template)).html
    image_url = "https://clinic.test" + template.header_image.url
    assert f'<img src="{image_url}"' in html
    assert html.index(image_url) < html.index("Hola Ana")
    assert "<p>Síguenos, Ana</p>" in html
    assert html.index("Hola Ana") < html.index("Síguenos, Ana") < html.index(POSTAL)


def test_preview_text_is_hidden_at_the_top_only_when_given():
    with_preview = rendered(compose(preview_text="Solo esta semana")).html
    assert "display:none" in with_preview
    assert with_preview.index("Solo esta semana") < with_preview.index("Hola Ana")
    assert "Solo esta semana" not in rendered(compose()).html


def test_without_layout_the_content_is_the_message():
    content = compose(html="<p>Solo {{ first_name }}</p>", layout=False)
    assert rendered(content).html == "<p>Solo Ana</p>"
    assert rendered(content).text == "Solo Ana\n"


def test_layout_is_translated_in_the_active_language():
    with translation.override("en"):
        html = rendered(compose()).html
    assert ">Unsubscribe</a>" in html
    assert ">Email preferences</a>" in html
    assert "Darse de baja" not in html


# --- CSS --------------------------------------------------------------------------------------


def test_css_is_inlined_when_compiling_not_when_rendering():
    content = compose(html='<style>p.aviso { color: #c00; }</style><p class="aviso">Ojo</p>')
    assert "<style" not in content.html.source
    assert "color: #c00" in content.html.source
    html = rendered(content).html
    assert "<style" not in html
    assert '<p class="aviso" style="color: #c00;">Ojo</p>' in html
    assert 'class="petmail-wrap" style="max-width: 600px;' in html
    assert "<body style=" in html


def test_css_is_left_alone_when_inlining_is_off():
    with override_settings(PETMAIL={**settings.PETMAIL, "INLINE_CSS": False}):
        content = compose(html='<style>p.aviso { color: #c00; }</style><p class="aviso">Ojo</p>')
    html = rendered(content).html
    assert "<style>" in html
    assert '<p class="aviso">Ojo</p>' in html


@pytest.mark.parametrize(
    ("html", "context", "expected"),
    [
        ("<p>{% if n > 1 %}varios{% else %}uno{% endif %}</p>", {"n": 3}, "<p>varios</p>"),
        ("<p>{% if n < 1 %}ninguno{% endif %}</p>", {"n": 0}, "<p>ninguno</p>"),
        (
            "<table><tr>{% for p in pets %}<td>{{ p }}</td>{% endfor %}</tr></table>",
            {"pets": ["Luna", "Coco"]},
            "<td>Luna</td><td>Coco</td>",
        ),
        (
            "<table>{% for p in pets %}<tr><td>{{ p }}</td></tr>{% endfor %}</table>",
            {"pets": ["Luna", "Coco"]},
            "<tr><td>Luna</td></tr>",
        ),
        (
            '<a href="{{ site_url }}/citas?m={{ pet_name|urlencode }}&amp;r=1">Pide cita</a>',
            {},
            'href="https://clinic.test/citas?m=Luna&amp;r=1"',
        ),
        ("<p>{# nota interna #}{{ '<b>' }}</p>", {}, "<p>&lt;b&gt;</p>"),
    ],
)
def test_template_tags_survive_css_inlining(html, context, expected):
    content = compose(html="<style>.aviso { margin: 0; }</style>" + html)
    output = rendered(content, **context).html
    assert expected in output
    if "Coco" in str(context):
        assert output.count("Coco") == 1


def test_inline_css_without_a_style_tag_returns_the_source_unchanged():
    source = "<p>{% if n > 1 %}x{% endif %}</p>"
    assert inline_css(source) is source


# --- text part --------------------------------------------------------------------------------


def test_text_part_is_derived_from_the_html_when_none_is_given():
    content = compose(
        html=(
            "<style>p { color: red; }</style><h1>Ofertas</h1><p>Hola {{ first_name }}</p>"
            '<p><a href="{{ site_url }}/tienda">Ver la tienda</a> &amp; más</p>'
            "<ul><li>Pienso</li><li>Juguetes</li></ul>"
            '<p><a href="https://clinic.test/x">https://clinic.test/x</a></p>'
        )
    )
    text = rendered(content).text
    assert "<" not in text.split("--")[0]
    assert "color: red" not in text
    assert "Ofertas\n\nHola Ana" in text
    assert "Ver la tienda (https://clinic.test/tienda) & más" in text
    assert "- Pienso\n- Juguetes" in text
    assert "https://clinic.test/x (https://clinic.test/x)" not in text
    assert "\nhttps://clinic.test/x\n" in text
    # the layout's footer follows, with the links as plain URLs
    assert f"Darse de baja: {CONTEXT['unsubscribe_url']}" in text
    assert f"Preferencias de email: {CONTEXT['preferences_url']}" in text
    assert f"Ver en el navegador: {CONTEXT['view_online_url']}" in text
    assert text.rstrip().endswith(POSTAL)


def test_explicit_text_part_is_used_as_written():
    content = compose(text="Texto para {{ first_name }} & {{ pet_name }}")
    text = rendered(content, first_name="<Ana>").text
    assert text.startswith("Texto para <Ana> & Luna\n\n--\n")
    assert "Hola" not in text


def test_html_to_text_skips_scripts_and_keeps_entities():
    assert html_to_text("<script>x()</script><p>A &lt;b&gt; &#241;</p>") == "A <b> ñ\n"


# --- escaping and subject ---------------------------------------------------------------------


def test_values_are_escaped_in_html_but_not_in_subject_or_text():
    content = compose(subject="Para {{ first_name }}", text="Hola {{ first_name }}")
    result = rendered(content, first_name="Tom & <Jerry>")
    assert "Hola Tom &amp; &lt;Jerry&gt;, mima" in result.html
    assert "Tom & <Jerry>" not in result.html
    assert result.subject == "Para Tom & <Jerry>"
    assert result.text.startswith("Hola Tom & <Jerry>")


def test_subject_is_always_one_line():
    content = compose(subject="Hola\r\n{{ first_name }}\n\tBcc: x@example.com")
    assert rendered(content, first_name="Ana\r\nTo: y@example.com").subject == (
        "Hola Ana To: y@example.com Bcc: x@example.com"
    )


def test_variables_cover_every_part():
    content = compose(
        subject="{{ a }}", html="<p>{{ b }}</p>", text="{{ c }}", preview_text="{{ d }}"
    )
    assert {"a", "b", "c", "d", "unsubscribe_url", "language"} <= content.variables


# --- errors name the field --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "{{ first_name.upper() }}"}, "subject"),
        ({"preview_text": "{% include 'x' %}"}, "preview_text"),
        ({"html": "<p>\n{{ _x }}</p>"}, "html_content"),
        ({"html": "<p>{% for p in pets %}</p>"}, "html_content"),
        ({"text": "{{ x|bogus }}"}, "text_content"),
    ],
)
def test_errors_start_with_the_field_name(kwargs, field):
    with pytest.raises(TemplateError) as excinfo:
        compose(**kwargs)
    assert str(excinfo.value).startswith(f"{field}: line ")


def test_html_errors_give_the_authors_line_not_the_layouts():
    with pytest.raises(TemplateError, match=r"^html_content: line 3: "):
        compose(html="<p>uno</p>\n<p>dos</p>\n<p>{{ x() }}</p>")


@pytest.mark.django_db
def test_footer_errors_name_the_footer():
    template = TemplateFactory(footer_html="{% extends 'base.html' %}")
    with pytest.raises(TemplateError, match=r"^footer_html: line 1: \{% extends %\}"):
        compose(template=template)
