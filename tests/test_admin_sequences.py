"""Sequence admin: every page renders in Spanish and English; the trigger settings come from
the registry; steps are numbered 1..n and previewed; pause/resume/cancel and "enroll a
segment now" go through ``sequences.enrollment``; enrollments show their timeline and are
paused, resumed and cancelled by actions, never added by hand."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import constants
from django.urls import reverse

from django_petmail import models as pm
from django_petmail.admin_sequences import (
    custom_trigger_choices,
    goal_trigger_choices,
    trigger_type_choices,
)
from django_petmail.sequences import enrollment as service
from django_petmail.sequences.registry import accept_every_event, sequence_triggers
from tests.factories import (
    EventFactory,
    SegmentFactory,
    SendFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

SEQ = "admin:django_petmail_automatedsequence"
STEP = "admin:django_petmail_sequencestep"
ENR = "admin:django_petmail_sequenceenrollment"


def act(client, changelist, action, *objs, HTTP_ACCEPT_LANGUAGE="es", **extra):
    response = client.post(
        reverse(changelist),
        {"action": action, "_selected_action": [o.pk for o in objs], **extra},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE,
    )
    assert response.status_code == 200
    return [(m.level, m.message) for m in response.context["messages"]]


def sequence_form(steps=(), **overrides):
    """POST data of the sequence change form with its steps inline."""
    data = {
        "name": "Bienvenida",
        "description": "",
        "trigger_type": "signup",
        "custom_trigger": "",
        "trigger_conditions": "{}",
        "goal_trigger": "",
        "reentry": "never",
        "reentry_cooldown_days": "0",
        "segment": "",
        "topic": "",
        "is_marketing": "on",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        row = {
            "step_number": str(i + 1),
            "delay_days": "0",
            "delay_hours": "0",
            "send_time": "",
            "template": "",
            "subject": "Hola {{ first_name }}",
            "preview_text": "",
            "html_content": "<p>Hola {{ first_name }}</p>",
            "text_content": "",
            "skip_if": "{}",
            "is_active": "on",
            **step,
        }
        data.update({f"steps-{i}-{k}": v for k, v in row.items()})
    data.update(overrides)
    return data


@pytest.fixture
def sequence():
    seq = SequenceFactory(name="Bienvenida")
    StepFactory(sequence=seq, step_number=1, subject="Hola {{ first_name }}")
    StepFactory(sequence=seq, step_number=2, delay_days=2, subject="Segundo paso")
    return seq


@pytest.fixture
def enrolled(sequence):
    subs = SubscriptionFactory.create_batch(3)
    service.enroll(sequence, pm.NewsletterSubscription.objects.filter(pk__in=[s.pk for s in subs]))
    return list(pm.SequenceEnrollment.objects.order_by("pk"))


# --- every page, in both languages ------------------------------------------------------------


@pytest.mark.parametrize(("lang", "save"), [("es", "Guardar"), ("en", "Save")])
def test_every_page_renders_in_spanish_and_english(admin_client, sequence, enrolled, lang, save):
    send = SendFactory(
        campaign=None,
        sequence_step=sequence.steps.first(),
        enrollment=enrolled[0],
        subscription=enrolled[0].subscription,
        status="sent",
    )
    EventFactory(send=send, event_type="open")
    step = sequence.steps.first()
    pages = [
        reverse(f"{SEQ}_changelist"),
        reverse(f"{SEQ}_add"),
        reverse(f"{SEQ}_change", args=[sequence.pk]),
        reverse(f"{STEP}_changelist"),
        reverse(f"{STEP}_add"),
        reverse(f"{STEP}_change", args=[step.pk]),
        reverse(f"{ENR}_changelist"),
        reverse(f"{ENR}_change", args=[enrolled[0].pk]),
    ]
    for page in pages:
        response = admin_client.get(page, HTTP_ACCEPT_LANGUAGE=lang)
        assert response.status_code == 200, page
        assert response.headers["Content-Language"] == lang
    change = admin_client.get(pages[2], HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert save in change
    intermediate = admin_client.post(
        reverse(f"{SEQ}_changelist"),
        {"action": "enroll_segment", "_selected_action": [sequence.pk]},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert intermediate.status_code == 200
    assert intermediate.headers["Content-Language"] == lang
    filtered = admin_client.get(
        pages[6], {"status": "active", "sequence__id__exact": sequence.pk, "q": "example"}
    )
    assert filtered.status_code == 200


def test_sequence_page_shows_a_preview_per_step_and_its_counters(admin_client, sequence):
    sub = SubscriptionFactory(first_name="Lucía")
    pm.SequenceStep.objects.filter(sequence=sequence, step_number=1).update(
        html_content="<p>Hola {{ first_name }} {{ cupon }}</p>", sent_count=7
    )
    page = admin_client.get(reverse(f"{SEQ}_change", args=[sequence.pk])).content.decode()
    assert page.count("<iframe sandbox srcdoc=") == 2
    assert f"Hola {sub.first_name}" in page
    assert "cupon" in page  # an unknown token is flagged
    assert "Segundo paso" in page
    assert ": 7" in page  # counters are shown, read-only
    assert 'name="steps-0-sent_count"' not in page


def test_a_broken_step_shows_its_error_instead_of_a_preview(admin_client, sequence):
    pm.SequenceStep.objects.filter(sequence=sequence, step_number=1).update(
        html_content="{% include 'x' %}"
    )
    response = admin_client.get(reverse(f"{SEQ}_change", args=[sequence.pk]))
    assert response.status_code == 200
    assert "{% include %} is not allowed" in response.content.decode()


# --- the form: trigger settings from the registry --------------------------------------------


def test_trigger_choices_come_from_the_registry():
    with sequence_triggers.temporarily("visit", accept_every_event, kind="event", label="Visit"):
        types = dict(trigger_type_choices())
        custom = dict(custom_trigger_choices())
        goals = dict(goal_trigger_choices())
    assert {"signup", "purchase", "vaccination_due", "custom"} <= set(types)
    assert "visit" in custom and "signup" not in custom
    assert "purchase" in goals and "visit" in goals
    assert "vaccination_due" not in goals  # scheduled triggers cannot be goals
    assert custom["visit"].startswith("Visit")
    assert "gone (no registrado)" in dict(custom_trigger_choices("gone")).values()  # es


def test_create_a_sequence_with_steps(admin_client):
    response = admin_client.post(
        reverse(f"{SEQ}_add"),
        sequence_form(
            [{"skip_if": '{"already_purchased": true}'}, {"delay_days": "3", "send_time": "09:30"}]
        ),
    )
    assert response.status_code == 302, response.context["errors"]
    seq = pm.AutomatedSequence.objects.get(name="Bienvenida")
    assert list(seq.steps.values_list("step_number", "delay_days")) == [(1, 0), (2, 3)]
    assert seq.steps.get(step_number=1).skip_if == {"already_purchased": True}


def test_custom_trigger_is_chosen_from_registered_names(admin_client):
    with sequence_triggers.temporarily("visit", accept_every_event, kind="event"):
        response = admin_client.post(
            reverse(f"{SEQ}_add"),
            sequence_form(trigger_type="custom", custom_trigger="visit", goal_trigger="purchase"),
        )
        assert response.status_code == 302
    seq = pm.AutomatedSequence.objects.get()
    assert (seq.trigger_name, seq.goal_trigger) == ("visit", "purchase")


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"trigger_type": "custom", "custom_trigger": "nope"}, "custom_trigger", "nope"),
        ({"trigger_type": "custom"}, "custom_trigger", "registered trigger"),
        ({"trigger_type": "teleport"}, "trigger_type", "teleport"),
        ({"goal_trigger": "vaccination_due"}, "goal_trigger", "vaccination_due"),
        (
            {"trigger_type": "inactivity", "trigger_conditions": '{"dayz": 3}'},
            "trigger_conditions",
            "dayz: unknown condition",
        ),
        (
            {"trigger_type": "inactivity", "trigger_conditions": '{"days": "many"}'},
            "trigger_conditions",
            "days: must be a whole number",
        ),
    ],
)
def test_bad_trigger_settings_are_errors_naming_the_field(admin_client, overrides, field, fragment):
    response = admin_client.post(reverse(f"{SEQ}_add"), sequence_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert fragment in " ".join(errors[field])
    assert not pm.AutomatedSequence.objects.exists()


def test_skip_if_help_lists_the_registered_skip_conditions(admin_client, sequence):
    page = admin_client.get(reverse(f"{SEQ}_change", args=[sequence.pk])).content.decode()
    assert "already_purchased" in page and "has_appointment" in page


# --- steps: numbering, delays, skip conditions ------------------------------------------------


@pytest.mark.parametrize(
    ("numbers", "fragment"),
    [
        (["1", "1"], "duplicate data for step_number"),
        (["1", "3"], "missing: 2"),
        (["2"], "missing: 1"),
    ],
)
def test_step_numbers_must_be_one_to_n(admin_client, numbers, fragment):
    steps = [{"step_number": n} for n in numbers]
    response = admin_client.post(
        reverse(f"{SEQ}_add"), sequence_form(steps), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    errors = " ".join(
        str(e)
        for fs in response.context["inline_admin_formsets"]
        for e in fs.formset.non_form_errors()
    )
    assert fragment in errors
    assert "step number" in errors or "step_number" in errors
    assert not pm.AutomatedSequence.objects.exists()


def test_a_step_page_keeps_the_numbering(admin_client, sequence):
    first = sequence.steps.get(step_number=1)
    data = {
        "sequence": sequence.pk,
        "step_number": "5",
        "delay_days": "0",
        "delay_hours": "0",
        "subject": "Otro",
        "html_content": "<p>Otro</p>",
        "skip_if": "{}",
        "is_active": "on",
    }
    response = admin_client.post(reverse(f"{STEP}_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "missing: 3" in " ".join(response.context["adminform"].form.errors["step_number"])
    added = admin_client.post(reverse(f"{STEP}_add"), {**data, "step_number": "3"})
    assert added.status_code == 302
    moved = admin_client.post(
        reverse(f"{STEP}_change", args=[first.pk]), {**data, "step_number": "2"}
    )
    assert moved.status_code == 200
    assert "step_number" in moved.context["adminform"].form.errors
    assert sorted(sequence.steps.values_list("step_number", flat=True)) == [1, 2, 3]


@pytest.mark.parametrize("field", ["delay_days", "delay_hours"])
def test_negative_delays_are_refused(admin_client, field):
    response = admin_client.post(reverse(f"{SEQ}_add"), sequence_form([{field: "-1"}]))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert field in formset.forms[0].errors
    assert not pm.SequenceStep.objects.exists()


def test_unknown_skip_condition_is_an_error_on_skip_if(admin_client):
    response = admin_client.post(
        reverse(f"{SEQ}_add"), sequence_form([{"skip_if": '{"is_a_cat": true}'}])
    )
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert "is_a_cat: unknown skip condition" in " ".join(errors["skip_if"])


def test_a_step_with_a_forbidden_template_names_its_field(admin_client):
    response = admin_client.post(
        reverse(f"{SEQ}_add"), sequence_form([{"html_content": "{% include 'x' %}"}])
    )
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert "html_content" in errors


# --- sequence actions -------------------------------------------------------------------------


def test_pause_shows_the_reason_and_resume_clears_it(admin_client, sequence, enrolled):
    messages = act(admin_client, f"{SEQ}_changelist", "pause_selected", sequence)
    sequence.refresh_from_db()
    assert not sequence.is_active and "pausada por" in sequence.paused_reason
    assert messages[0][0] == constants.INFO
    page = admin_client.get(reverse(f"{SEQ}_change", args=[sequence.pk])).content.decode()
    assert sequence.paused_reason in page
    listing = admin_client.get(reverse(f"{SEQ}_changelist")).content.decode()
    assert sequence.paused_reason in listing

    act(admin_client, f"{SEQ}_changelist", "resume_selected", sequence)
    sequence.refresh_from_db()
    assert sequence.is_active and sequence.paused_reason == ""
    page = admin_client.get(reverse(f"{SEQ}_change", args=[sequence.pk])).content.decode()
    assert "paused by" not in page


def test_an_error_pauses_and_shows_on_the_change_page(admin_client, sequence):
    service.pause_sequence(sequence, reason="trigger 'signup' failed: boom")
    page = admin_client.get(reverse(f"{SEQ}_change", args=[sequence.pk])).content.decode()
    assert "trigger &#x27;signup&#x27; failed: boom" in page


def test_resume_refuses_a_sequence_whose_trigger_is_gone(admin_client):
    seq = SequenceFactory(trigger_type="custom", custom_trigger="gone", is_active=False)
    messages = act(admin_client, f"{SEQ}_changelist", "resume_selected", seq)
    assert messages[0][0] == constants.ERROR
    assert "custom_trigger" in messages[0][1] and "gone" in messages[0][1]
    seq.refresh_from_db()
    assert not seq.is_active


def test_cancel_ends_every_running_enrollment(admin_client, sequence, enrolled):
    messages = act(admin_client, f"{SEQ}_changelist", "cancel_selected", sequence)
    assert "3" in messages[0][1]
    assert set(pm.SequenceEnrollment.objects.values_list("status", flat=True)) == {"cancelled"}
    sequence.refresh_from_db()
    assert not sequence.is_active


WEEKLY = {"operator": "AND", "conditions": [{"field": "frequency", "op": "eq", "value": "weekly"}]}
INVALID = {"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": "x"}]}


def test_enroll_a_segment_now(admin_client, sequence):
    SubscriptionFactory.create_batch(3, frequency="weekly")
    SubscriptionFactory(frequency="monthly")
    segment = SegmentFactory(rules=WEEKLY)

    page = admin_client.post(
        reverse(f"{SEQ}_changelist"),
        {"action": "enroll_segment", "_selected_action": [sequence.pk]},
    )
    assert page.status_code == 200
    assert segment.name in page.content.decode()
    assert not pm.SequenceEnrollment.objects.exists()  # nothing happens before the choice

    messages = act(
        admin_client,
        f"{SEQ}_changelist",
        "enroll_segment",
        sequence,
        segment=segment.pk,
        post="yes",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert messages == [(constants.SUCCESS, f"{sequence}: 3 subscribers enrolled.")]
    assert pm.SequenceEnrollment.objects.filter(sequence=sequence).count() == 3
    again = act(
        admin_client,
        f"{SEQ}_changelist",
        "enroll_segment",
        sequence,
        segment=segment.pk,
        post="yes",
    )
    assert again[0][0] == constants.SUCCESS and ": 0 " in again[0][1]  # never twice


def test_enroll_a_segment_with_invalid_rules_is_an_error_message(admin_client, sequence):
    SubscriptionFactory()
    segment = SegmentFactory()
    pm.CustomerSegment.objects.filter(pk=segment.pk).update(rules=INVALID)
    messages = act(
        admin_client,
        f"{SEQ}_changelist",
        "enroll_segment",
        sequence,
        segment=segment.pk,
        post="yes",
    )
    assert messages[0][0] == constants.ERROR
    assert not pm.SequenceEnrollment.objects.exists()


def test_enroll_a_segment_in_a_paused_sequence_enrolls_nobody(admin_client, sequence):
    SubscriptionFactory()
    segment = SegmentFactory()
    service.pause_sequence(sequence)
    messages = act(
        admin_client,
        f"{SEQ}_changelist",
        "enroll_segment",
        sequence,
        segment=segment.pk,
        post="yes",
    )
    assert messages[0][0] == constants.WARNING
    assert not pm.SequenceEnrollment.objects.exists()


def test_enroll_without_a_valid_segment_shows_the_form_again(admin_client, sequence):
    response = admin_client.post(
        reverse(f"{SEQ}_changelist"),
        {
            "action": "enroll_segment",
            "_selected_action": [sequence.pk],
            "post": "yes",
            "segment": "999",
        },
    )
    assert response.status_code == 200
    assert "segment" in response.context["form"].errors
    assert not pm.SequenceEnrollment.objects.exists()


# --- enrollments ------------------------------------------------------------------------------


def test_enrollments_cannot_be_added_or_edited_by_hand(admin_client, enrolled):
    assert admin_client.get(reverse(f"{ENR}_add")).status_code == 403
    page = admin_client.get(reverse(f"{ENR}_changelist")).content.decode()
    assert reverse(f"{ENR}_add") not in page
    enrollment = enrolled[0]
    url = reverse(f"{ENR}_change", args=[enrollment.pk])
    admin_client.post(url, {"status": "completed", "current_step": "9"})
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.current_step) == ("active", 0)


def test_enrollment_actions(admin_client, enrolled):
    first, second, third = enrolled
    messages = act(admin_client, f"{ENR}_changelist", "pause_selected", first, second)
    assert messages[0][0] == constants.SUCCESS and "2" in messages[0][1]
    assert pm.SequenceEnrollment.objects.get(pk=first.pk).status == "paused"

    act(admin_client, f"{ENR}_changelist", "resume_selected", first)
    assert pm.SequenceEnrollment.objects.get(pk=first.pk).status == "active"
    assert pm.SequenceEnrollment.objects.get(pk=second.pk).status == "paused"

    act(admin_client, f"{ENR}_changelist", "cancel_selected", second, third)
    statuses = dict(pm.SequenceEnrollment.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "active", second.pk: "cancelled", third.pk: "cancelled"}
    assert "cancelada por" in pm.SequenceEnrollment.objects.get(pk=third.pk).cancelled_reason

    # nothing left to resume: a warning, not an error page
    messages = act(admin_client, f"{ENR}_changelist", "resume_selected", third)
    assert messages[0][0] == constants.WARNING


def test_enrollment_timeline_shows_step_sends_and_their_events(admin_client, sequence, enrolled):
    enrollment = enrolled[0]
    one, two = sequence.steps.order_by("step_number")
    send = SendFactory(
        campaign=None,
        sequence_step=one,
        enrollment=enrollment,
        subscription=enrollment.subscription,
        status="opened",
    )
    EventFactory(send=send, event_type="open")
    SendFactory(
        campaign=None,
        sequence_step=two,
        enrollment=enrollment,
        subscription=enrollment.subscription,
        status="skipped",
        error_message="skipped: a skip condition matched",
    )
    SendFactory(campaign=None, sequence_step=one, enrollment=enrolled[1])  # someone else's

    page = admin_client.get(reverse(f"{ENR}_change", args=[enrollment.pk])).content.decode()
    assert "petmail-timeline" in page
    assert "Segundo paso" in page
    assert "skipped: a skip condition matched" in page
    assert page.count("<tr><td>") == 2


def test_enrollment_filters_and_search(admin_client, sequence, enrolled):
    pause = service.pause
    pause(pm.SequenceEnrollment.objects.filter(pk=enrolled[0].pk))
    url = reverse(f"{ENR}_changelist")
    paused = admin_client.get(url, {"status__exact": "paused"})
    assert paused.context["cl"].result_count == 1
    email = enrolled[1].subscription.email
    found = admin_client.get(url, {"q": email})
    assert [e.pk for e in found.context["cl"].result_list] == [enrolled[1].pk]
    other = admin_client.get(url, {"sequence__id__exact": SequenceFactory().pk})
    assert other.context["cl"].result_count == 0


# --- permissions ------------------------------------------------------------------------------


def test_anonymous_and_staff_without_permissions_are_kept_out(
    client, django_user_model, sequence, enrolled
):
    pages = [
        reverse(f"{SEQ}_changelist"),
        reverse(f"{SEQ}_change", args=[sequence.pk]),
        reverse(f"{ENR}_changelist"),
        reverse(f"{ENR}_change", args=[enrolled[0].pk]),
    ]
    for page in pages:
        assert client.get(page).status_code == 302  # to the login page

    staff = django_user_model._default_manager.create(
        **{django_user_model.USERNAME_FIELD: "staff@example.com"}, is_staff=True
    )
    client.force_login(staff)
    for page in pages:
        assert client.get(page).status_code == 403
    response = client.post(
        pages[0], {"action": "cancel_selected", "_selected_action": [sequence.pk]}
    )
    assert response.status_code == 403
    sequence.refresh_from_db()
    assert sequence.is_active

    staff.user_permissions.add(
        Permission.objects.get(codename="view_sequenceenrollment"),
        Permission.objects.get(codename="view_automatedsequence"),
    )
    staff = django_user_model._default_manager.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(pages[3]).status_code == 200
