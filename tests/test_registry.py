"""The generic registry and the four registries built on it."""

import pytest
from django.db.models import Q

from django_petmail.exceptions import DuplicateRegistryEntry, UnknownRegistryEntry
from django_petmail.registry import Registry, autodiscover
from django_petmail.rendering import build_contexts, context_providers, register_context_provider
from django_petmail.segments.fields import (
    DEFAULT_OPS,
    FieldType,
    SegmentField,
    register_segment_field,
    segment_fields,
)
from django_petmail.sequences.registry import (
    register_skip_condition,
    register_trigger,
    sequence_triggers,
    skip_conditions,
)


def test_register_as_call_and_decorator():
    reg: Registry = Registry("thing")
    reg.register("a", 1, label="A")

    @reg.register("b", label="B")
    def b():
        return 2

    assert reg.get("a") == 1
    assert reg.get("b") is b
    assert reg.get_entry("a").meta == {"label": "A"}
    assert reg.names() == ["a", "b"]
    assert reg.choices() == [("a", "A"), ("b", "B")]
    assert "a" in reg and "z" not in reg
    assert len(reg) == 2
    assert [e.name for e in reg] == ["a", "b"]


def test_duplicate_names_are_refused_unless_replaced():
    reg: Registry = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(DuplicateRegistryEntry, match="replace=True"):
        reg.register("a", 2)
    reg.register("a", 3, replace=True)
    assert reg.get("a") == 3


def test_unknown_name_lists_known_ones():
    reg: Registry = Registry("widget")
    reg.register("alpha", 1)
    with pytest.raises(UnknownRegistryEntry, match=r"Unknown widget 'beta'\. Known: alpha"):
        reg.get("beta")
    with pytest.raises(LookupError):
        reg.unregister("beta")
    empty: Registry = Registry("widget")
    with pytest.raises(UnknownRegistryEntry, match="nothing is registered yet"):
        empty.get("x")


def test_invalid_names_are_refused():
    with pytest.raises(ValueError, match="non-empty string"):
        Registry("thing").register("", 1)


def test_temporarily_restores_previous_state():
    reg: Registry = Registry("thing")
    reg.register("a", 1)
    with reg.temporarily("a", 2):
        assert reg.get("a") == 2
    assert reg.get("a") == 1
    with reg.temporarily("new", 5) as entry:
        assert entry.obj == 5
    assert "new" not in reg


def test_temporarily_as_a_decorator_restores_after_each_call():
    reg: Registry = Registry("thing")
    reg.register("a", 1)
    seen = []

    @reg.temporarily("a", 2, label="two")
    def check(extra):
        seen.append((reg.get("a"), reg.get_entry("a").meta, extra))
        return "done"

    assert reg.get("a") == 1  # decorating registers nothing
    assert check("x") == "done"
    assert reg.get("a") == 1
    assert check("y") == "done"  # reusable
    assert seen == [(2, {"label": "two"}, "x"), (2, {"label": "two"}, "y")]


def test_temporarily_decorator_restores_when_the_function_raises():
    reg: Registry = Registry("thing")

    @reg.temporarily("new", 5)
    def boom():
        assert reg.get("new") == 5
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        boom()
    assert "new" not in reg


def test_temporarily_decorates_async_functions():
    import asyncio

    reg: Registry = Registry("thing")

    @reg.temporarily("new", 5)
    async def read():
        await asyncio.sleep(0)
        return reg.get("new")

    assert "new" not in reg
    assert asyncio.run(read()) == 5
    assert "new" not in reg


def test_temporarily_nests_and_a_refused_entry_changes_nothing():
    def positive(entry):
        if entry.obj <= 0:
            raise ValueError("positive only")
        return entry

    reg: Registry = Registry("thing", validate=positive)
    reg.register("a", 1)
    outer = reg.temporarily("a", 2)
    with outer:
        with reg.temporarily("a", 3):
            assert reg.get("a") == 3
        with outer:  # the same object, re-entered
            assert reg.get("a") == 2
        assert reg.get("a") == 2
        with pytest.raises(ValueError, match="positive only"), reg.temporarily("a", -1):
            pass  # pragma: no cover
        assert reg.get("a") == 2
    assert reg.get("a") == 1


@skip_conditions.temporarily("decorated_skip", lambda value: None, label="Decorated")
def test_temporarily_decorates_a_pytest_test():
    assert skip_conditions.get_entry("decorated_skip").meta == {"label": "Decorated"}


def test_the_decorated_test_left_nothing_behind():
    assert "decorated_skip" not in skip_conditions


def test_unregister():
    reg: Registry = Registry("thing")
    reg.register("a", 1)
    reg.unregister("a")
    assert "a" not in reg


def test_autodiscover_found_the_clinic_hooks():
    autodiscover()  # idempotent: modules are imported once
    assert "pets__species" in segment_fields
    assert "lifetime_value" in segment_fields
    assert "already_purchased" in skip_conditions
    assert "vaccination_due" in sequence_triggers


def test_segment_field_defaults():
    field = register_segment_field("tmp_field", type=FieldType.NUMBER)
    try:
        assert field.path == "tmp_field"
        assert field.ops == DEFAULT_OPS[FieldType.NUMBER]
        assert field.label == "Tmp field"
        assert segment_fields.get("tmp_field") is field
    finally:
        segment_fields.unregister("tmp_field")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"type": "colour"}, ValueError, "unknown type"),
        ({"type": "string", "ops": ["eq", "fuzzy"]}, ValueError, "unknown operators"),
        ({"type": "string", "lookup": "not callable"}, TypeError, "must be callable"),
    ],
)
def test_segment_field_validation(kwargs, error, message):
    with pytest.raises(error, match=message):
        register_segment_field("bad_field", **kwargs)
    assert "bad_field" not in segment_fields


def test_segment_field_registry_requires_segment_field_objects():
    with pytest.raises(TypeError, match="SegmentField"):
        segment_fields.register("bad", object())
    field = SegmentField("nothing", FieldType.STRING, "Nothing", ("eq",))
    with pytest.raises(ValueError, match="path or a lookup"):
        segment_fields.register("nothing", field)


def test_trigger_and_skip_registration_and_validation():
    with sequence_triggers.temporarily("signup_custom", lambda s, now: [], kind="event") as e:
        assert e.meta["kind"] == "event"
    with pytest.raises(ValueError, match="kind must be one of"):
        register_trigger("weird", lambda s, now: [], kind="sometimes")
    with pytest.raises(TypeError, match="callable"):
        register_trigger("not_callable", 42)
    fn = register_skip_condition("tmp_skip", lambda value: Q(pk=value))
    try:
        assert skip_conditions.get("tmp_skip")(3) == Q(pk=3)
        assert fn(1) == Q(pk=1)
    finally:
        skip_conditions.unregister("tmp_skip")
    with pytest.raises(TypeError, match="callable"):
        register_skip_condition("bad_skip", "x")
    register_trigger("tmp_trigger", lambda s, now: [])
    try:
        assert sequence_triggers.get_entry("tmp_trigger").meta["kind"] == "scheduled"
    finally:
        sequence_triggers.unregister("tmp_trigger")


@pytest.mark.django_db
def test_context_providers_extend_the_adapter_context(subscription):
    def provider(subs):
        return {s.pk: {"clinic": "Huellas", "first_name": "Override"} for s in subs}

    with context_providers.temporarily("clinic", provider):
        ctx = build_contexts([subscription])[subscription.pk]
    assert ctx["clinic"] == "Huellas"
    assert ctx["first_name"] == "Override"
    assert "clinic" not in build_contexts([subscription])[subscription.pk]
    with pytest.raises(TypeError, match="callable"):
        register_context_provider("bad", 5)
    decorated = register_context_provider("tmp_provider")(provider)
    try:
        assert context_providers.get("tmp_provider") is decorated
    finally:
        context_providers.unregister("tmp_provider")


def test_builtin_subscription_fields_are_registered_once():
    from django_petmail.segments.builtin_fields import register_builtin_fields

    register_builtin_fields()  # idempotent
    for name in (
        "status",
        "source",
        "language",
        "topics",
        "frequency",
        "subscribed_at",
        "confirmed_at",
    ):
        assert segment_fields.get(name).path == name
    assert segment_fields.get("topics").ops == ("contains", "is_null")
