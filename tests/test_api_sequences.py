"""The sequence API: staff only; sequences validated as the model's ``clean()`` does (400
naming the field); pause, resume, cancel and enroll-segment; steps numbered 1..n with a
preview; enrollments read-only with pause, resume and cancel. Unknown ids are 404, a wrong
state 409, never a 500."""

import pytest
from rest_framework.test import APIClient

from django_petmail import models as pm
from django_petmail.sequences import enrollment as service
from django_petmail.sequences.registry import accept_every_event, sequence_triggers
from tests.factories import (
    SegmentFactory,
    SendFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

SEQUENCES = "/petmail/api/sequences/"
STEPS = "/petmail/api/steps/"
ENROLLMENTS = "/petmail/api/enrollments/"
VALID = {"name": "Bienvenida", "trigger_type": "signup"}
STEP = {"subject": "Hola {{ first_name }}", "html_content": "<p>Hola {{ first_name }}</p>"}
WEEKLY = {"operator": "AND", "conditions": [{"field": "frequency", "op": "eq", "value": "weekly"}]}


def url(base, obj, action=""):
    pk = obj if isinstance(obj, int) else obj.pk
    return f"{base}{pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def staff(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def sequence():
    seq = SequenceFactory(name="Bienvenida")
    StepFactory(sequence=seq, step_number=1, subject="Hola {{ first_name }}")
    StepFactory(sequence=seq, step_number=2, delay_days=2, subject="Segundo")
    return seq


@pytest.fixture
def enrolled(sequence):
    SubscriptionFactory.create_batch(3)
    service.enroll(sequence, pm.NewsletterSubscription.objects.all())
    return list(pm.SequenceEnrollment.objects.order_by("pk"))


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("get", "sequences"),
        ("post", "sequences"),
        ("get", "sequence"),
        ("patch", "sequence"),
        ("delete", "sequence"),
        ("post", "sequence/pause"),
        ("post", "sequence/resume"),
        ("post", "sequence/cancel"),
        ("post", "sequence/enroll-segment"),
        ("get", "steps"),
        ("post", "steps"),
        ("patch", "step"),
        ("delete", "step"),
        ("get", "step/preview"),
        ("get", "enrollments"),
        ("get", "enrollment"),
        ("post", "enrollment/pause"),
        ("post", "enrollment/resume"),
        ("post", "enrollment/cancel"),
    ],
)
def test_staff_only(api, django_user_model, sequence, enrolled, method, target):
    step = sequence.steps.last()
    segment = SegmentFactory()
    targets = {
        "sequences": SEQUENCES,
        "sequence": url(SEQUENCES, sequence),
        "steps": STEPS,
        "step": url(STEPS, step),
        "enrollments": ENROLLMENTS,
        "enrollment": url(ENROLLMENTS, enrolled[0]),
    }
    base, _, action = target.partition("/")
    path = targets[base] + (f"{action}/" if action else "")
    payload = {**VALID, "segment": segment.pk}
    assert getattr(api, method)(path, payload, format="json").status_code in (401, 403)

    user = django_user_model._default_manager.create(
        **{django_user_model.USERNAME_FIELD: "plain@example.com"}
    )
    client = APIClient()
    client.force_authenticate(user)
    assert getattr(client, method)(path, payload, format="json").status_code == 403
    sequence.refresh_from_db()
    assert sequence.is_active and sequence.steps.count() == 2
    assert pm.SequenceEnrollment.objects.filter(status="active").count() == 3


# --- sequences --------------------------------------------------------------------------------


def test_create_read_update_delete_a_sequence(staff):
    segment = SegmentFactory()
    response = staff.post(
        SEQUENCES,
        {
            **VALID,
            "trigger_type": "inactivity",
            "trigger_conditions": {"days": 60},
            "goal_trigger": "purchase",
            "segment": segment.pk,
            "reentry": "after_completion",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["is_active"], data["steps"], data["segment"]) == (True, [], segment.pk)
    pk = data["id"]
    assert [row["id"] for row in staff.get(SEQUENCES).json()["results"]] == [pk]

    patched = staff.patch(url(SEQUENCES, pk), {"trigger_conditions": {"days": 30}}, format="json")
    assert patched.status_code == 200
    assert pm.AutomatedSequence.objects.get(pk=pk).trigger_conditions == {"days": 30}

    assert staff.delete(url(SEQUENCES, pk)).status_code == 204
    assert not pm.AutomatedSequence.objects.exists()


def test_state_fields_are_read_only(staff):
    response = staff.post(
        SEQUENCES, {**VALID, "is_active": False, "paused_reason": "x"}, format="json"
    )
    assert response.status_code == 201
    seq = pm.AutomatedSequence.objects.get()
    assert (seq.is_active, seq.paused_reason) == (True, "")


def test_a_custom_trigger(staff):
    with sequence_triggers.temporarily("visit", accept_every_event, kind="event"):
        response = staff.post(
            SEQUENCES, {**VALID, "trigger_type": "custom", "custom_trigger": "visit"}, format="json"
        )
    assert response.status_code == 201
    assert pm.AutomatedSequence.objects.get().trigger_name == "visit"


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"trigger_type": "teleport"}, "trigger_type", "teleport"),
        ({"trigger_type": "custom", "custom_trigger": "nope"}, "custom_trigger", "unknown trigger"),
        ({"trigger_type": "custom"}, "custom_trigger", "registered trigger"),
        ({"goal_trigger": "nope"}, "goal_trigger", "unknown trigger"),
        ({"goal_trigger": "vaccination_due"}, "goal_trigger", "not event"),
        (
            {"trigger_type": "inactivity", "trigger_conditions": {"dayz": 3}},
            "trigger_conditions",
            "dayz: unknown condition",
        ),
        (
            {"trigger_type": "inactivity", "trigger_conditions": {"days": "many"}},
            "trigger_conditions",
            "days: must be a whole number",
        ),
        (
            {"trigger_type": "inactivity", "trigger_conditions": [1]},
            "trigger_conditions",
            "object of conditions",
        ),
        ({"reentry": "sometimes"}, "reentry", "sometimes"),
        ({"segment": 999}, "segment", "999"),
        ({"name": ""}, "name", ""),
    ],
)
def test_bad_sequences_are_400_naming_the_field(staff, payload, field, fragment):
    response = staff.post(SEQUENCES, {**VALID, **payload}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert fragment in " ".join(errors[field])
    assert not pm.AutomatedSequence.objects.exists()


def test_a_patch_is_checked_against_the_stored_settings(staff, sequence):
    response = staff.patch(
        url(SEQUENCES, sequence), {"trigger_conditions": {"days": 3}}, format="json"
    )
    assert response.status_code == 400  # signup accepts no conditions
    assert "days: unknown condition" in response.json()["trigger_conditions"][0]


def test_unknown_ids_are_404(staff):
    for path in [
        url(SEQUENCES, 999),
        url(SEQUENCES, 999, "pause"),
        url(SEQUENCES, 999, "enroll-segment"),
        url(STEPS, 999),
        url(STEPS, 999, "preview"),
        url(ENROLLMENTS, 999),
        url(ENROLLMENTS, 999, "cancel"),
    ]:
        method = staff.get if path.endswith(("999/", "preview/")) else staff.post
        assert method(path, {}, format="json").status_code == 404, path


def test_pause_resume_cancel_a_sequence(staff, sequence, enrolled):
    paused = staff.post(url(SEQUENCES, sequence, "pause"), {"reason": "revisión"}, format="json")
    assert paused.status_code == 200
    assert (paused.json()["is_active"], paused.json()["paused_reason"]) == (False, "revisión")

    resumed = staff.post(url(SEQUENCES, sequence, "resume"))
    assert (resumed.json()["is_active"], resumed.json()["paused_reason"]) == (True, "")

    cancelled = staff.post(url(SEQUENCES, sequence, "cancel"))
    assert cancelled.status_code == 200
    assert (cancelled.json()["cancelled"], cancelled.json()["is_active"]) == (3, False)
    assert set(pm.SequenceEnrollment.objects.values_list("status", flat=True)) == {"cancelled"}


def test_resume_refuses_a_sequence_that_cannot_run(staff):
    seq = SequenceFactory(trigger_type="custom", custom_trigger="gone", is_active=False)
    response = staff.post(url(SEQUENCES, seq, "resume"))
    assert response.status_code == 400
    assert "gone" in response.json()["custom_trigger"][0]
    seq.refresh_from_db()
    assert not seq.is_active


def test_a_sequence_with_running_enrollments_is_not_deleted(staff, sequence, enrolled):
    response = staff.delete(url(SEQUENCES, sequence))
    assert response.status_code == 400
    assert "enrollments" in response.json()
    staff.post(url(SEQUENCES, sequence, "cancel"))
    assert staff.delete(url(SEQUENCES, sequence)).status_code == 204


def test_enroll_a_segment(staff, sequence):
    SubscriptionFactory.create_batch(3, frequency="weekly")
    SubscriptionFactory(frequency="monthly")
    segment = SegmentFactory(rules=WEEKLY)
    path = url(SEQUENCES, sequence, "enroll-segment")
    response = staff.post(path, {"segment": segment.pk}, format="json")
    assert response.status_code == 200
    assert response.json() == {"enrolled": 3}
    assert staff.post(path, {"segment": segment.pk}, format="json").json() == {"enrolled": 0}


@pytest.mark.parametrize("body", [{}, {"segment": 999}, {"segment": "x"}, {"segment": None}])
def test_enroll_segment_needs_a_segment(staff, sequence, body):
    response = staff.post(url(SEQUENCES, sequence, "enroll-segment"), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["segment"]


def test_enroll_segment_with_invalid_rules_is_a_400(staff, sequence):
    SubscriptionFactory()
    segment = SegmentFactory()
    pm.CustomerSegment.objects.filter(pk=segment.pk).update(
        rules={"operator": "AND", "conditions": [{"field": "gone", "op": "eq", "value": 1}]}
    )
    response = staff.post(
        url(SEQUENCES, sequence, "enroll-segment"), {"segment": segment.pk}, format="json"
    )
    assert response.status_code == 400
    assert "segment" in response.json()


def test_enroll_segment_in_a_paused_sequence_is_a_409(staff, sequence):
    SubscriptionFactory()
    service.pause_sequence(sequence)
    response = staff.post(
        url(SEQUENCES, sequence, "enroll-segment"), {"segment": SegmentFactory().pk}, format="json"
    )
    assert response.status_code == 409
    assert not pm.SequenceEnrollment.objects.exists()


# --- steps ------------------------------------------------------------------------------------


def test_steps_of_a_sequence_in_order(staff, sequence):
    StepFactory(sequence=SequenceFactory(), step_number=1)
    rows = staff.get(STEPS, {"sequence": sequence.pk}).json()["results"]
    assert [(r["step_number"], r["subject"]) for r in rows] == [
        (1, "Hola {{ first_name }}"),
        (2, "Segundo"),
    ]
    assert staff.get(STEPS).json()["count"] == 3
    bad = staff.get(STEPS, {"sequence": "x"})
    assert bad.status_code == 400 and list(bad.json()) == ["sequence"]


def test_add_the_next_step_and_its_counters_are_read_only(staff, sequence):
    response = staff.post(
        STEPS,
        {
            **STEP,
            "sequence": sequence.pk,
            "step_number": 3,
            "delay_hours": 6,
            "send_time": "09:30",
            "skip_if": {"already_purchased": True},
            "sent_count": 50,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    step = pm.SequenceStep.objects.get(pk=response.json()["id"])
    assert (step.step_number, step.delay_hours, step.sent_count) == (3, 6, 0)


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"step_number": 4}, "step_number", "faltan: 3"),  # LANGUAGE_CODE is "es"
        ({"step_number": 2}, "step_number", "repetidos: 2"),
        ({"step_number": 0}, "step_number", ""),
        ({"step_number": 3, "delay_days": -1}, "delay_days", ""),
        ({"step_number": 3, "delay_hours": -2}, "delay_hours", ""),
        ({"step_number": 3, "skip_if": {"is_a_cat": True}}, "skip_if", "unknown skip condition"),
        ({"step_number": 3, "skip_if": ["x"]}, "skip_if", "object of skip conditions"),
        ({"step_number": 3, "html_content": "{% include 'x' %}"}, "html_content", "not allowed"),
        ({"step_number": 3, "subject": "{{ _secret }}"}, "subject", "'_'"),
        ({"step_number": 3, "send_time": "25:00"}, "send_time", ""),
        ({"step_number": 3, "sequence": 999}, "sequence", "999"),
    ],
)
def test_bad_steps_are_400_naming_the_field(staff, sequence, payload, field, fragment):
    response = staff.post(STEPS, {**STEP, "sequence": sequence.pk, **payload}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert sequence.steps.count() == 2


def test_renumbering_a_step_into_a_gap_or_onto_another_is_refused(staff, sequence):
    first = sequence.steps.get(step_number=1)
    for number in (2, 3):
        response = staff.patch(url(STEPS, first), {"step_number": number}, format="json")
        assert response.status_code == 400
        assert "step_number" in response.json()
    assert staff.patch(url(STEPS, first), {"subject": "Nuevo"}, format="json").status_code == 200
    other = SequenceFactory()
    moved = staff.patch(url(STEPS, first), {"sequence": other.pk}, format="json")
    assert moved.status_code == 400 and "sequence" in moved.json()


def test_only_the_last_step_is_deleted(staff, sequence):
    first, last = sequence.steps.order_by("step_number")
    response = staff.delete(url(STEPS, first))
    assert response.status_code == 400
    assert "step_number" in response.json()
    assert staff.delete(url(STEPS, last)).status_code == 204
    assert staff.delete(url(STEPS, first)).status_code == 204


def test_step_preview(staff, sequence):
    sub = SubscriptionFactory(first_name="Lucía")
    other = SubscriptionFactory(first_name="Marta")
    step = sequence.steps.get(step_number=1)
    pm.SequenceStep.objects.filter(pk=step.pk).update(
        html_content="<p>Hola {{ first_name }} {{ cupon }}</p>"
    )
    shown = staff.get(url(STEPS, step, "preview")).json()
    assert shown["subject"] == f"Hola {sub.first_name}"
    assert "Hola Lucía" in shown["html"]
    assert shown["unknown_tokens"] == ["cupon"]
    chosen = staff.get(url(STEPS, step, "preview"), {"subscription": other.pk}).json()
    assert chosen["subject"] == "Hola Marta"
    for raw in ("x", "999"):
        bad = staff.get(url(STEPS, step, "preview"), {"subscription": raw})
        assert bad.status_code == 400 and list(bad.json()) == ["subscription"]


def test_preview_without_subscribers_uses_a_sample_and_a_broken_step_is_a_400(staff, sequence):
    step = sequence.steps.get(step_number=1)
    assert staff.get(url(STEPS, step, "preview")).status_code == 200
    pm.SequenceStep.objects.filter(pk=step.pk).update(html_content="{% include 'x' %}")
    response = staff.get(url(STEPS, step, "preview"))
    assert response.status_code == 400
    assert "not allowed" in response.json()["detail"]


# --- enrollments ------------------------------------------------------------------------------


def test_list_and_filter_enrollments(staff, sequence, enrolled):
    other = SequenceFactory()
    service.enroll(other, pm.NewsletterSubscription.objects.filter(pk=enrolled[0].subscription_id))
    service.pause(pm.SequenceEnrollment.objects.filter(pk=enrolled[1].pk))
    assert staff.get(ENROLLMENTS).json()["count"] == 4
    mine = staff.get(ENROLLMENTS, {"sequence": sequence.pk}).json()["results"]
    assert sorted(r["id"] for r in mine) == sorted(e.pk for e in enrolled)
    paused = staff.get(ENROLLMENTS, {"status": "paused"}).json()["results"]
    assert [(r["id"], r["email"]) for r in paused] == [
        (enrolled[1].pk, enrolled[1].subscription.email)
    ]
    detail = staff.get(url(ENROLLMENTS, enrolled[0])).json()
    assert (detail["sequence"], detail["status"]) == (sequence.pk, "active")
    for params, field in (({"status": "asleep"}, "status"), ({"sequence": "x"}, "sequence")):
        bad = staff.get(ENROLLMENTS, params)
        assert bad.status_code == 400 and list(bad.json()) == [field]


def test_enrollments_are_read_only(staff, enrolled):
    path = url(ENROLLMENTS, enrolled[0])
    assert staff.post(ENROLLMENTS, {"sequence": 1}, format="json").status_code == 405
    assert staff.patch(path, {"status": "completed"}, format="json").status_code == 405
    assert staff.delete(path).status_code == 405


def test_pause_resume_cancel_an_enrollment(staff, enrolled):
    first = enrolled[0]
    paused = staff.post(url(ENROLLMENTS, first, "pause"))
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = staff.post(url(ENROLLMENTS, first, "pause"))
    assert again.status_code == 409 and again.json()["status"] == "paused"
    resumed = staff.post(url(ENROLLMENTS, first, "resume"))
    assert resumed.json()["status"] == "active"
    send = SendFactory(campaign=None, sequence_step=first.sequence.steps.first(), enrollment=first)
    cancelled = staff.post(url(ENROLLMENTS, first, "cancel"), {"reason": "petición"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_reason"] == "petición"
    send.refresh_from_db()
    assert send.status == "cancelled"  # its waiting step send goes too
    assert staff.post(url(ENROLLMENTS, first, "resume")).status_code == 409
    assert pm.SequenceEnrollment.objects.filter(status="active").count() == 2
