"""Sequence API: sequences (CRUD, trigger settings validated as the model's ``clean()``
does; pause, resume, cancel, enroll a segment), their steps (``?sequence=<id>``, numbered
1..n, with a preview), their reports and enrollments (read-only, with pause, resume and cancel).

State changes go through ``sequences.enrollment``; bad input is a 400 naming the field, an
unknown id in the URL a 404, a wrong state a 409.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import analytics
from ..exceptions import RuleValidationError
from ..models import (
    COUNTER_FIELDS,
    ENROLLMENT_RUNNING,
    STEP_FIELDS,
    AutomatedSequence,
    CustomerSegment,
    EnrollmentStatus,
    SequenceEnrollment,
    SequenceStep,
)
from ..rendering.sandbox import TemplateError
from ..sequences import enrollment as service
from ..sequences.registry import sequence_errors
from ..sequences.steps import numbering_errors, step_numbers, step_preview
from .base import (
    FILTER_BACKENDS,
    ModelSerializer,
    PetmailPagination,
    StaffModelPermissions,
    StrictFieldsMixin,
)
from .delivery import IdFilter
from .params import subscription_param
from .schema import SUBSCRIPTION_PARAMETER, document, move


def _django_errors(exc: DjangoValidationError) -> dict[str, Any]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


# --- sequences --------------------------------------------------------------------------------


class SequenceSerializer(StrictFieldsMixin, ModelSerializer):
    steps: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = AutomatedSequence
        fields = [
            "id",
            "name",
            "description",
            "trigger_type",
            "custom_trigger",
            "trigger_conditions",
            "goal_trigger",
            "reentry",
            "reentry_cooldown_days",
            "topic",
            "segment",
            "is_marketing",
            "is_active",
            "paused_reason",
            "steps",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["is_active", "paused_reason", "created_at", "updated_at"]

    def validate_trigger_conditions(self, value: Any) -> Any:
        return {} if value is None else value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = AutomatedSequence()
        if self.instance is not None:
            for field in AutomatedSequence._meta.concrete_fields:
                setattr(instance, field.attname, getattr(self.instance, field.attname))
        for name, value in attrs.items():
            setattr(instance, name, value)
        errors = sequence_errors(instance)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PauseSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class EnrollSegmentSerializer(StrictFieldsMixin, serializers.Serializer):
    segment = serializers.PrimaryKeyRelatedField(queryset=CustomerSegment.objects.all())


def _paused(sequence: AutomatedSequence) -> Response:
    return Response(
        {
            "detail": f"The sequence {sequence} is paused: nobody can be enrolled.",
            "is_active": False,
        },
        status=status.HTTP_409_CONFLICT,
    )


class SequenceViewSet(viewsets.ModelViewSet):
    serializer_class = SequenceSerializer
    permission_classes = [StaffModelPermissions]
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["trigger_type", "is_active", "is_marketing", "topic"]
    ordering_fields = ["id", "name", "created_at"]
    queryset = (
        AutomatedSequence.objects.select_related("segment").prefetch_related("steps").order_by("pk")
    )

    def perform_destroy(self, instance: AutomatedSequence) -> None:
        running = instance.enrollments.filter(status__in=ENROLLMENT_RUNNING).count()
        if running:
            raise serializers.ValidationError(
                {
                    "enrollments": [
                        f"{running} enrollments are still running; cancel the sequence first."
                    ]
                }
            )
        instance.delete()

    def _data(self, sequence: AutomatedSequence, **extra: Any) -> Response:
        sequence = self.get_queryset().get(pk=sequence.pk)
        return Response({**SequenceSerializer(sequence).data, **extra})

    @move(SequenceSerializer, PauseSerializer, "Pause the sequence (nobody advances).")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: Any = None) -> Response:
        sequence = self.get_object()
        serializer = PauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason") or f"paused by {request.user}"
        service.pause_sequence(sequence, reason=reason)
        return self._data(sequence)

    @move(SequenceSerializer, description="Resume; 400 if it cannot run as it is.")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: Any = None) -> Response:
        sequence = self.get_object()
        errors = sequence_errors(sequence)
        if errors:  # it cannot run as it is: it stays paused
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        service.resume_sequence(sequence)
        return self._data(sequence)

    @move(SequenceSerializer, PauseSerializer, "Cancel every running enrollment.")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        sequence = self.get_object()
        serializer = PauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason") or "sequence cancelled"
        count = service.cancel_sequence(sequence, reason=reason)
        return self._data(sequence, cancelled=count)

    @document("Enrollments by status, a report per step and totals.")
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: Any = None) -> Response:
        """Enrollments by status, a report per step and the totals (``sequence_report``)."""
        return Response(analytics.sequence_report(self.get_object()).as_dict())

    @document("Enroll a segment's members; 409 if paused.", request=EnrollSegmentSerializer)
    @action(detail=True, methods=["post"], url_path="enroll-segment")
    def enroll_segment(self, request: Request, pk: Any = None) -> Response:
        sequence = self.get_object()
        serializer = EnrollSegmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not sequence.is_active:
            return _paused(sequence)
        try:
            count = service.enroll_segment(sequence, serializer.validated_data["segment"])
        except RuleValidationError as exc:
            return Response(
                {"segment": [f"The segment's rules are invalid: {exc}"]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"enrolled": count})


# --- steps ------------------------------------------------------------------------------------


class StepSerializer(StrictFieldsMixin, ModelSerializer):
    class Meta:
        model = SequenceStep
        fields = [
            "id",
            "sequence",
            *STEP_FIELDS,
            *COUNTER_FIELDS,
            "open_rate",
            "click_rate",
        ]
        read_only_fields = [*COUNTER_FIELDS, "open_rate", "click_rate"]
        validators: list[Any] = []  # numbering is checked below, with one message

    open_rate = serializers.FloatField(read_only=True)
    click_rate = serializers.FloatField(read_only=True)

    def validate_skip_if(self, value: Any) -> Any:
        return {} if value is None else value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        if (
            current is not None
            and attrs.get("sequence", current.sequence).pk != current.sequence_id
        ):
            raise serializers.ValidationError(
                {"sequence": ["A step cannot move to another sequence."]}
            )
        instance = SequenceStep()
        if self.instance is not None:
            for field in SequenceStep._meta.concrete_fields:
                setattr(instance, field.attname, getattr(self.instance, field.attname))
        for name, value in attrs.items():
            setattr(instance, name, value)
        errors: dict[str, list[str]] = {}
        try:
            instance.clean()
        except DjangoValidationError as exc:
            errors.update(_django_errors(exc))
        numbers = step_numbers(
            instance.sequence, exclude=self.instance.pk if self.instance else None
        )
        problems = numbering_errors([*numbers, instance.step_number])
        if problems:
            errors.setdefault("step_number", []).extend(problems)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class StepFilter(filters.FilterSet):
    sequence = IdFilter(field_name="sequence_id")
    is_active = filters.BooleanFilter()

    class Meta:
        model = SequenceStep
        fields: list[str] = []


class EnrollmentFilter(filters.FilterSet):
    sequence = IdFilter(field_name="sequence_id")
    subscription = IdFilter(field_name="subscription_id")
    status = filters.ChoiceFilter(choices=EnrollmentStatus.choices)

    class Meta:
        model = SequenceEnrollment
        fields: list[str] = []


class StepViewSet(viewsets.ModelViewSet):
    """``?sequence=<id>`` lists one sequence's steps in order."""

    serializer_class = StepSerializer
    permission_classes = [StaffModelPermissions]
    queryset = SequenceStep.objects.select_related("sequence", "template").order_by(
        "sequence_id", "step_number"
    )
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = StepFilter
    ordering_fields = ["id", "step_number"]

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer)

    def _save(self, serializer: Any) -> None:
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:  # another request took the number meanwhile
            raise serializers.ValidationError(
                {"step_number": ["This sequence already has a step with this number."]}
            ) from None

    def perform_destroy(self, instance: SequenceStep) -> None:
        numbers = step_numbers(instance.sequence, exclude=instance.pk)
        if numbering_errors(numbers):
            raise serializers.ValidationError(
                {
                    "step_number": [
                        "Only the last step can be deleted (the others would leave a gap); "
                        "deactivate it instead (is_active: false)."
                    ]
                }
            )
        instance.delete()

    @document("The step's report.")
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: Any = None) -> Response:
        """The step's report (``analytics.step_report``), as JSON."""
        return Response(analytics.step_report(self.get_object()).as_dict())

    @document("The step rendered for a subscriber.", parameters=[SUBSCRIPTION_PARAMETER])
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: Any = None) -> Response:
        """``?subscription=<id>`` (default: the first subscriber who may enter)."""
        step = self.get_object()
        subscription = subscription_param(request)
        try:
            return Response(step_preview(step, subscription))
        except TemplateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


# --- enrollments ------------------------------------------------------------------------------


class EnrollmentSerializer(StrictFieldsMixin, ModelSerializer):
    email = serializers.CharField(source="subscription.email", read_only=True, default="")

    class Meta:
        model = SequenceEnrollment
        fields = [
            "id",
            "sequence",
            "owner",
            "subscription",
            "email",
            "status",
            "cycle",
            "current_step",
            "next_send_at",
            "context",
            "enrolled_at",
            "completed_at",
            "converted_at",
            "updated_at",
            "cancelled_reason",
        ]
        read_only_fields = fields


class EnrollmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read-only; ``?sequence=<id>`` and ``?status=<status>`` filter the list."""

    serializer_class = EnrollmentSerializer
    permission_classes = [StaffModelPermissions]
    queryset = SequenceEnrollment.objects.select_related("subscription").order_by("-pk")
    pagination_class = PetmailPagination
    filter_backends = FILTER_BACKENDS
    filterset_class = EnrollmentFilter
    ordering_fields = ["id", "enrolled_at"]

    def _move(self, verb: str, **kwargs: Any) -> Response:
        enrollment = self.get_object()
        one = SequenceEnrollment.objects.filter(pk=enrollment.pk)
        changed = getattr(service, verb)(one, **kwargs)
        enrollment.refresh_from_db()
        if not changed:
            return Response(
                {
                    "detail": f"A {enrollment.status} enrollment cannot be {verb}d.",
                    "status": enrollment.status,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(EnrollmentSerializer(enrollment).data)

    @move(EnrollmentSerializer, description="Pause one enrollment.")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: Any = None) -> Response:
        return self._move("pause")

    @move(EnrollmentSerializer, description="Resume one enrollment.")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: Any = None) -> Response:
        return self._move("resume")

    @move(EnrollmentSerializer, PauseSerializer, "Cancel one enrollment.")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        serializer = PauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason") or f"cancelled by {request.user}"
        return self._move("cancel", reason=reason)
