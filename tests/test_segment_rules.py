"""validate_rules(): every bad input is reported with its JSON path and a helpful message.

Rules are typed by people, so validation must collect *all* problems, say where each one is
(``conditions[1].op``) and never let a mistake turn into a server error later on.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Q
from django.utils import translation

from django_petmail.exceptions import RuleValidationError
from django_petmail.segments.fields import SegmentField, register_segment_field, segment_fields
from django_petmail.segments.rules import Condition, Group, Not, validate_rules
from django_petmail.segments.service import rules_q
from django_petmail.segments.values import RelativeDate


@pytest.fixture(autouse=True)
def _english(settings):
    """Rule validation messages are translatable; these tests assert their English msgids
    (requests get LANGUAGE_CODE from LocaleMiddleware, the test itself the override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


ACTIVE = {"field": "status", "op": "eq", "value": "active"}


def group(*conditions, operator="AND"):
    return {"operator": operator, "conditions": list(conditions)}


def errors_of(rules):
    with pytest.raises(RuleValidationError) as info:
        validate_rules(rules)
    return info.value.errors


def only_error(rules):
    errors = errors_of(rules)
    assert len(errors) == 1, errors
    return errors[0]


def nested(levels, leaf=ACTIVE):
    """``levels`` groups nested inside each other (the root is level 1), ``leaf`` innermost."""
    node = group(leaf)
    for _ in range(levels - 1):
        node = group(node)
    return node


def path_at(level):
    """The JSON path of the group at ``level`` in :func:`nested`."""
    return ".".join(["conditions[0]"] * (level - 1))


@pytest.fixture
def petmail(settings):
    """``petmail(KEY=value)`` overrides PETMAIL settings for the test."""

    def override(**values):
        settings.PETMAIL = {**settings.PETMAIL, **values}

    return override


@pytest.fixture
def temp_field():
    """``temp_field(name, **kwargs)`` registers a segment field for this test only."""
    names = []

    def register(name, **kwargs):
        field = register_segment_field(name, **kwargs)
        names.append(name)
        return field

    yield register
    for name in names:
        segment_fields.unregister(name)


# --- empty and well-formed rules --------------------------------------------------------------


@pytest.mark.parametrize("rules", [None, {}])
def test_none_and_empty_object_mean_no_rules(rules):
    assert validate_rules(rules) is None
    assert rules_q(rules) == Q()


def test_a_valid_rule_becomes_a_typed_tree():
    tree = validate_rules(group(ACTIVE))
    assert isinstance(tree, Group)
    assert tree.operator == "AND"
    (condition,) = tree.children
    assert isinstance(condition, Condition)
    assert (condition.field.name, condition.op, condition.value, condition.path) == (
        "status",
        "eq",
        "active",
        "conditions[0]",
    )


def test_operator_defaults_to_and():
    assert validate_rules({"conditions": [ACTIVE]}).operator == "AND"


@pytest.mark.parametrize("operator", ["or", "Or", "OR"])
def test_operator_is_case_insensitive(operator):
    assert validate_rules(group(ACTIVE, operator=operator)).operator == "OR"


def test_nested_groups_and_not_build_the_right_tree():
    tree = validate_rules(
        group(
            {"field": "pets__species", "op": "eq", "value": "dog"},
            group(
                {"field": "lifetime_value", "op": "gte", "value": 1000},
                {"field": "topics", "op": "contains", "value": "promotions"},
                operator="or",
            ),
            {"not": {"field": "email_engagement", "op": "opened_in_last", "value": "30d"}},
        )
    )
    species, either, negated = tree.children
    assert isinstance(species, Condition) and species.field.name == "pets__species"
    assert isinstance(either, Group) and either.operator == "OR"
    assert [c.field.name for c in either.children] == ["lifetime_value", "topics"]
    assert [c.path for c in either.children] == [
        "conditions[1].conditions[0]",
        "conditions[1].conditions[1]",
    ]
    assert isinstance(negated, Not)
    assert isinstance(negated.child, Condition)
    assert (negated.child.field.name, negated.child.value, negated.child.path) == (
        "email_engagement",
        30,
        "conditions[2].not",
    )


def test_not_of_a_group():
    tree = validate_rules(group({"not": group(ACTIVE, ACTIVE, operator="OR")}))
    (negated,) = tree.children
    assert isinstance(negated, Not)
    assert isinstance(negated.child, Group) and negated.child.operator == "OR"


def test_a_top_level_not_is_a_group_of_one():
    tree = validate_rules({"not": ACTIVE})
    assert isinstance(tree, Group)
    (negated,) = tree.children
    assert isinstance(negated, Not) and negated.child.path == "not"
    assert rules_q({"not": ACTIVE}) == ~Q(status__exact="active")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "lifetime_value", "op": "gte", "value": "1000.50"}, Decimal("1000.50")),
        ({"field": "lifetime_value", "op": "gte", "value": 1000}, Decimal("1000")),
        ({"field": "lifetime_value", "op": "gte", "value": 99.5}, Decimal("99.5")),
        (
            {"field": "lifetime_value", "op": "between", "value": ["10", 20]},
            [Decimal("10"), Decimal("20")],
        ),
        ({"field": "last_visit_date", "op": "gte", "value": "2024-05-31"}, dt.date(2024, 5, 31)),
        ({"field": "last_visit_date", "op": "gte", "value": "-90d"}, RelativeDate(-90, "d")),
        ({"field": "last_visit_date", "op": "lt", "value": "today"}, RelativeDate(0, "d")),
        (
            {"field": "last_visit_date", "op": "between", "value": ["-1y", "2024-01-01"]},
            [RelativeDate(-1, "y"), dt.date(2024, 1, 1)],
        ),
        ({"field": "subscribed_at", "op": "gte", "value": "-6m"}, RelativeDate(-6, "m")),
        ({"field": "subscribed_at", "op": "gte", "value": "2024-05-31"}, dt.date(2024, 5, 31)),
        ({"field": "orders_count", "op": "gte", "value": 3}, 3),
        ({"field": "pets__species", "op": "in", "value": ["dog", "cat"]}, ["dog", "cat"]),
        ({"field": "email_engagement", "op": "clicked_in_last", "value": "4w"}, 28),
        ({"field": "vaccination_due", "op": "within", "value": "14d"}, 14),
        ({"field": "received_campaign", "op": "eq", "value": 7}, 7),
        ({"field": "pets", "op": "exists", "value": False}, False),
        ({"field": "status", "op": "is_null", "value": True}, True),
    ],
)
def test_values_are_coerced_to_the_field_type(condition, expected):
    (cond,) = validate_rules(group(condition)).children
    assert cond.value == expected
    assert type(cond.value) is type(expected)


def test_naive_datetimes_are_made_aware():
    (cond,) = validate_rules(
        group({"field": "subscribed_at", "op": "gte", "value": "2024-05-31T10:00"})
    ).children
    assert cond.value.tzinfo is not None
    assert (cond.value.date(), cond.value.hour) == (dt.date(2024, 5, 31), 10)


# --- bad input: one test per mistake ------------------------------------------------------------


def test_unknown_field_lists_the_known_fields():
    path, message = only_error(group(ACTIVE, {"field": "colour", "op": "eq", "value": "red"}))
    assert path == "conditions[1].field"
    assert message.startswith("unknown field 'colour'; known fields: ")
    known = message.split("known fields: ")[1].split(", ")
    assert known == sorted(segment_fields.names())
    assert {"status", "pets__species", "last_visit_date"} <= set(known)


def test_unknown_operator():
    path, message = only_error(group({"field": "status", "op": "like", "value": "act%"}))
    assert path == "conditions[0].op"
    assert message == (
        "'like' is not allowed for field 'status' (choice); use one of eq, ne, in, not_in, is_null"
    )


def test_operator_not_allowed_for_the_field_type():
    rules = group(ACTIVE, {"field": "last_visit_date", "op": "contains", "value": "2024"})
    with pytest.raises(RuleValidationError) as info:
        validate_rules(rules)
    ((path, message),) = info.value.errors
    assert path == "conditions[1].op"
    assert message.startswith("'contains' is not allowed for field 'last_visit_date' (date)")
    assert "use one of eq, ne, in" in message
    assert str(info.value).startswith(
        "conditions[1].op: 'contains' is not allowed for field 'last_visit_date' (date)"
    )
    assert info.value.as_list() == [{"path": path, "message": message}]


def test_operator_of_another_field_is_refused():
    path, message = only_error(group({"field": "topics", "op": "eq", "value": "news"}))
    assert path == "conditions[0].op"
    assert "'eq' is not allowed for field 'topics' (list); use one of contains, is_null" in message


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ({"field": "orders_count", "op": "gte", "value": "5"}, "expected a number, got '5'"),
        ({"field": "orders_count", "op": "gte", "value": True}, "expected a number, got True"),
        ({"field": "orders_count", "op": "gte", "value": None}, "expected a number, got None"),
        ({"field": "first_name", "op": "eq", "value": 5}, "expected text, got 5"),
        ({"field": "first_name", "op": "eq", "value": "x" * 501}, "limited to 500 characters"),
        ({"field": "lifetime_value", "op": "gte", "value": "lots"}, "expected a number"),
        ({"field": "lifetime_value", "op": "gte", "value": "NaN"}, "expected a finite number"),
        ({"field": "lifetime_value", "op": "gte", "value": False}, "expected a number"),
        (
            {"field": "has_upcoming_appointment", "op": "eq", "value": "yes"},
            "expected true or false, got 'yes'",
        ),
        (
            {"field": "has_upcoming_appointment", "op": "eq", "value": 1},
            "expected true or false, got 1",
        ),
        ({"field": "status", "op": "is_null", "value": "yes"}, "'is_null' takes true or false"),
        ({"field": "pets", "op": "exists", "value": 1}, "'exists' takes true or false"),
        ({"field": "topics", "op": "contains", "value": 5}, "on a list takes one non-empty text"),
        ({"field": "topics", "op": "contains", "value": ""}, "on a list takes one non-empty text"),
        ({"field": "last_visit_date", "op": "gte", "value": 20240531}, "expected a date"),
        ({"field": "subscribed_at", "op": "gte", "value": "31/05/2024"}, "expected a date-time"),
        (
            {"field": "email_engagement", "op": "opened_in_last", "value": "soon"},
            "expected a duration such as '30d'",
        ),
        ({"field": "received_campaign", "op": "eq", "value": 0}, "expected the id of a record"),
        ({"field": "received_campaign", "op": "eq", "value": "3"}, "expected the id of a record"),
        ({"field": "in_sequence", "op": "eq", "value": True}, "expected the id of a record"),
        ({"field": "in_sequence", "op": "eq", "value": 2**63}, "expected the id of a record"),
    ],
)
def test_wrong_value_type(condition, fragment):
    path, message = only_error(group(condition))
    assert path == "conditions[0].value"
    assert fragment in message


def test_choice_value_must_be_one_of_the_choices():
    path, message = only_error(group({"field": "pets__species", "op": "eq", "value": "dragon"}))
    assert path == "conditions[0].value"
    assert message == "'dragon' is not one of dog, cat, rabbit, bird, other"


def test_every_item_of_an_in_list_is_checked():
    path, message = only_error(
        group({"field": "frequency", "op": "in", "value": ["weekly", "zombie"]})
    )
    assert path == "conditions[0].value"
    assert "'zombie' is not one of weekly, monthly" in message


@pytest.mark.parametrize("value", ["-90x", "yesterday", "-d", "90d", "- 90d", "-90dd", "+-1m"])
def test_malformed_relative_date(value):
    path, message = only_error(group({"field": "last_visit_date", "op": "gte", "value": value}))
    assert path == "conditions[0].value"
    assert f"got {value!r}" in message
    assert "a relative date ('-90d', '-6m', '-1y', 'today')" in message


@pytest.mark.parametrize("field", ["last_visit_date", "subscribed_at"])
@pytest.mark.parametrize("value", ["-99999y", "+99999m"])
def test_relative_date_out_of_range(field, value):
    path, message = only_error(group({"field": field, "op": "gte", "value": value}))
    assert path == "conditions[0].value"
    assert message == f"relative date out of range: {value}"


@pytest.mark.parametrize("value", [10**30, 2**63, -(2**63), 1e300])
def test_number_out_of_range(value):
    path, message = only_error(group({"field": "orders_count", "op": "gte", "value": value}))
    assert path == "conditions[0].value"
    assert message == f"number out of range: {value!r}"


def test_empty_group():
    assert only_error(group()) == ("conditions", "a group needs at least one condition")


def test_empty_nested_group():
    assert only_error(group(ACTIVE, group())) == (
        "conditions[1].conditions",
        "a group needs at least one condition",
    )


@pytest.mark.parametrize(
    "rules",
    [
        {"operator": "AND"},
        {"operator": "AND", "conditions": {"field": "status"}},
        {"operator": "OR", "conditions": "status"},
        {"conditions": 3},
    ],
)
def test_conditions_must_be_a_list(rules):
    assert only_error(rules) == ("conditions", "must be a list of conditions or groups")


def test_depth_limit_default_is_five_levels_of_groups():
    assert validate_rules(nested(5)) is not None
    path, message = only_error(nested(6))
    assert path == path_at(6)
    assert message == "groups nest deeper than the limit of 5 levels"


def test_depth_limit_setting(petmail):
    petmail(SEGMENT_MAX_DEPTH=2)
    assert validate_rules(nested(2)) is not None
    assert only_error(nested(3)) == (
        "conditions[0].conditions[0]",
        "groups nest deeper than the limit of 2 levels",
    )


def test_depth_limit_one_allows_a_flat_group(petmail):
    petmail(SEGMENT_MAX_DEPTH=1)
    assert validate_rules(group(ACTIVE, ACTIVE)) is not None
    assert only_error(nested(2)) == (
        "conditions[0]",
        "groups nest deeper than the limit of 1 levels",
    )


def test_not_counts_as_a_level(petmail):
    petmail(SEGMENT_MAX_DEPTH=2)
    assert validate_rules(group({"not": ACTIVE})) is not None
    assert only_error(group({"not": {"not": ACTIVE}})) == (
        "conditions[0].not",
        "groups nest deeper than the limit of 2 levels",
    )


@pytest.mark.parametrize("op", ["in", "not_in"])
@pytest.mark.parametrize("value", ["active", {"a": 1}, 3, None])
def test_in_takes_a_list(op, value):
    path, message = only_error(group({"field": "status", "op": op, "value": value}))
    assert path == "conditions[0].value"
    assert message.startswith(f"'{op}' takes a list of values, got ")


def test_in_list_size_limit_default():
    ok = group({"field": "language", "op": "in", "value": [f"l{i}" for i in range(1000)]})
    assert validate_rules(ok) is not None
    path, message = only_error(
        group({"field": "language", "op": "in", "value": [f"l{i}" for i in range(1001)]})
    )
    assert path == "conditions[0].value"
    assert message == "'in' takes at most 1000 values, got 1001"


def test_in_list_size_limit_setting(petmail):
    petmail(SEGMENT_MAX_IN_VALUES=3)
    assert validate_rules(group({"field": "language", "op": "in", "value": ["a", "b", "c"]}))
    assert only_error(
        group({"field": "language", "op": "not_in", "value": ["a", "b", "c", "d"]})
    ) == ("conditions[0].value", "'not_in' takes at most 3 values, got 4")


def test_empty_in_list():
    assert only_error(group({"field": "status", "op": "in", "value": []})) == (
        "conditions[0].value",
        "'in' needs at least one value",
    )


@pytest.mark.parametrize("value", [[1], [1, 2, 3], [], 5, "1,2"])
def test_between_takes_two_values(value):
    assert only_error(group({"field": "orders_count", "op": "between", "value": value})) == (
        "conditions[0].value",
        "'between' takes a list of two values [low, high]",
    )


def test_between_checks_both_values():
    path, message = only_error(
        group({"field": "last_visit_date", "op": "between", "value": ["-90d", "soon"]})
    )
    assert path == "conditions[0].value"
    assert "got 'soon'" in message


@pytest.mark.parametrize(
    ("rules", "kind"),
    [([ACTIVE], "list"), ("status = active", "str"), (42, "int"), (True, "bool"), (1.5, "float")],
)
def test_rules_must_be_an_object(rules, kind):
    assert only_error(rules) == (
        "rules",
        f"must be an object with 'operator' and 'conditions', got {kind}",
    )


@pytest.mark.parametrize(
    ("condition", "kind"), [("status", "str"), (None, "NoneType"), ([ACTIVE], "list"), (7, "int")]
)
def test_each_condition_must_be_an_object(condition, kind):
    assert only_error(group(ACTIVE, condition)) == (
        "conditions[1]",
        f"must be an object (a condition or a group), got {kind}",
    )


def test_missing_field():
    assert only_error(group({"op": "eq", "value": "active"})) == (
        "conditions[0].field",
        "is required and must be a field name",
    )


@pytest.mark.parametrize("name", ["", 5, None, ["status"]])
def test_field_must_be_a_name(name):
    assert only_error(group({"field": name, "op": "eq", "value": "active"}))[0] == (
        "conditions[0].field"
    )


def test_missing_op():
    path, message = only_error(group({"field": "status", "value": "active"}))
    assert path == "conditions[0].op"
    assert message == "is required; use one of eq, ne, in, not_in, is_null"


@pytest.mark.parametrize("op", [None, 3, ["eq"]])
def test_op_must_be_text(op):
    path, message = only_error(group({"field": "status", "op": op, "value": "active"}))
    assert path == "conditions[0].op"
    assert message.startswith("is required; use one of")


def test_missing_value():
    assert only_error(group({"field": "status", "op": "eq"})) == (
        "conditions[0].value",
        "is required",
    )


def test_unknown_keys_in_a_condition():
    assert only_error(group({**ACTIVE, "negate": True})) == (
        "conditions[0]",
        "unknown keys ['negate'] in a condition",
    )


def test_unknown_keys_in_the_root_group():
    assert only_error({**group(ACTIVE), "name": "x"}) == (
        "rules",
        "unknown keys ['name'] in a group",
    )


def test_unknown_keys_in_a_nested_group():
    assert only_error(group({**group(ACTIVE), "limit": 3})) == (
        "conditions[0]",
        "unknown keys ['limit'] in a group",
    )


def test_a_condition_at_the_root_is_read_as_a_group_of_one():
    assert validate_rules(ACTIVE) == validate_rules(group(ACTIVE))
    # errors point at the wrapped condition, as the admin stores it
    assert only_error({"field": "status", "op": "like", "value": "a"})[0] == "conditions[0].op"


@pytest.mark.parametrize("operator", ["XOR", "", "and not", 1, None, ["AND"]])
def test_bad_group_operator(operator):
    assert only_error(group(ACTIVE, operator=operator)) == (
        "operator",
        f"must be 'AND' or 'OR', got {operator!r}",
    )


def test_bad_nested_group_operator():
    assert only_error(group(group(ACTIVE, operator="NAND")))[0] == "conditions[0].operator"


def test_not_with_extra_keys():
    assert only_error(group({"not": ACTIVE, "field": "status"})) == (
        "conditions[0]",
        "a 'not' object has no other keys, found ['field']",
    )


def test_not_of_something_that_is_not_an_object():
    assert only_error(group({"not": "status"})) == (
        "conditions[0].not",
        "must be an object (a condition or a group), got str",
    )


def test_not_of_a_bad_condition_reports_the_inner_path():
    assert only_error(group({"not": {"field": "nope", "op": "eq", "value": 1}}))[0] == (
        "conditions[0].not.field"
    )


def test_every_error_is_reported_at_once():
    errors = errors_of(
        group(
            ACTIVE,
            {"field": "last_visit_date", "op": "contains", "value": "x"},
            {"field": "pets__species", "op": "eq", "value": "dragon"},
        )
    )
    assert [path for path, _ in errors] == ["conditions[1].op", "conditions[2].value"]


def test_errors_from_several_levels_and_kinds():
    errors = errors_of(
        {
            "operator": "XOR",
            "conditions": [
                {"field": "colour", "op": "eq", "value": "red"},
                group({"field": "orders_count", "op": "gte", "value": "many"}, "oops"),
                {"not": {"field": "status", "op": "in", "value": "active"}},
                group(),
            ],
        }
    )
    assert [path for path, _ in errors] == [
        "operator",
        "conditions[0].field",
        "conditions[1].conditions[0].value",
        "conditions[1].conditions[1]",
        "conditions[2].not.value",
        "conditions[3].conditions",
    ]


# --- fields that fail while compiling -----------------------------------------------------------


def test_a_lookup_that_raises_is_a_validation_error_at_its_path(temp_field):
    def broken(op, value):
        raise ZeroDivisionError("division by zero")

    temp_field("broken_score", type="number", lookup=broken)
    rules = group(ACTIVE, {"not": {"field": "broken_score", "op": "gt", "value": 1}})
    validate_rules(rules)  # the rules themselves are fine
    with pytest.raises(RuleValidationError) as info:
        rules_q(rules)
    assert info.value.errors == [
        (
            "conditions[1].not",
            "field 'broken_score' could not be evaluated: division by zero",
        )
    ]


def test_a_lookup_that_raises_a_validation_error_keeps_it(temp_field):
    def picky(op, value):
        raise RuleValidationError([("somewhere", "picky says no")])

    temp_field("picky", type="number", lookup=picky)
    with pytest.raises(RuleValidationError) as info:
        rules_q(group({"field": "picky", "op": "eq", "value": 1}))
    assert info.value.errors == [("somewhere", "picky says no")]


def test_a_lookup_returning_an_expression_is_wrapped_in_q(temp_field):
    from django.db.models import Exists, OuterRef

    from django_petmail.models import NewsletterSubscription

    temp_field(
        "self_exists",
        type="boolean",
        ops=("eq",),
        lookup=lambda op, value: Exists(NewsletterSubscription.objects.filter(pk=OuterRef("pk"))),
    )
    assert isinstance(rules_q(group({"field": "self_exists", "op": "eq", "value": True})), Q)


def test_a_lookup_with_a_temporary_registration():
    def broken(op, value):
        raise KeyError("gone")

    field = SegmentField("temp_broken", "string", "Temp", ("eq",), lookup=broken)
    with (
        segment_fields.temporarily("temp_broken", field),
        pytest.raises(RuleValidationError) as info,
    ):
        rules_q(group({"field": "temp_broken", "op": "eq", "value": "x"}))
    assert info.value.errors[0][0] == "conditions[0]"
    assert "temp_broken" not in segment_fields


def test_a_relative_date_that_no_longer_resolves_is_a_validation_error():
    from django_petmail.segments.compiler import compile_rules

    field = segment_fields.get("last_visit_date")
    tree = Group("AND", (Condition(field, "gte", RelativeDate(-99999, "y"), "conditions[0]"),))
    with pytest.raises(RuleValidationError) as info:
        compile_rules(tree)
    ((path, message),) = info.value.errors
    assert path == "conditions[0]"
    assert message.startswith("field 'last_visit_date' could not be evaluated: ")


def test_a_value_parser_that_crashes_is_reported_at_the_value(temp_field):
    def parser(op, raw):
        return raw["amount"]

    temp_field("crashy", type="number", ops=("eq",), lookup=lambda op, v: Q(), value_parser=parser)
    path, message = only_error(group({"field": "crashy", "op": "eq", "value": 3}))
    assert path == "conditions[0].value"
    assert "crashy" in message


def test_a_path_that_does_not_exist_is_a_validation_error(temp_field):
    temp_field("ghost", type="string", path="owner__ghost_column")
    with pytest.raises(RuleValidationError) as info:
        rules_q(group({"field": "ghost", "op": "eq", "value": "boo"}))
    ((path, message),) = info.value.errors
    assert path == "rules"
    assert message.startswith("cannot be evaluated: ")
    assert "ghost_column" in message


def test_a_to_many_path_that_crosses_no_relation_is_a_validation_error(temp_field):
    temp_field("fake_many", type="string", path="first_name", to_many=True)
    with pytest.raises(RuleValidationError) as info:
        rules_q(group(ACTIVE, {"field": "fake_many", "op": "eq", "value": "Ana"}))
    ((path, message),) = info.value.errors
    assert path == "conditions[1]"
    assert "crosses no to-many relation" in message


def test_a_to_many_path_ending_at_the_relation_only_supports_exists(temp_field):
    temp_field("pet_rows", type="string", path="owner__pets", to_many=True, ops=("eq",))
    with pytest.raises(RuleValidationError) as info:
        rules_q(group({"field": "pet_rows", "op": "eq", "value": "x"}))
    assert info.value.errors[0][0] == "conditions[0]"
    assert "only 'exists' applies" in info.value.errors[0][1]


# --- registry validation ------------------------------------------------------------------------


def test_custom_operator_needs_a_lookup():
    with pytest.raises(ValueError, match="custom operators need a lookup callable"):
        register_segment_field("weird", type="string", ops=["sounds_like"])
    assert "weird" not in segment_fields


def test_custom_operator_with_a_lookup_is_accepted(temp_field):
    field = temp_field("soundex", type="string", ops=["sounds_like"], lookup=lambda op, v: Q())
    assert field.ops == ("sounds_like",)
    (cond,) = validate_rules(
        group({"field": "soundex", "op": "sounds_like", "value": "x"})
    ).children
    assert cond.op == "sounds_like"


def test_empty_ops_are_refused():
    with pytest.raises(ValueError, match="allows no operators"):
        register_segment_field("mute", type="string", ops=[])
    assert "mute" not in segment_fields


def test_value_parser_must_be_callable():
    with pytest.raises(TypeError, match="value_parser must be callable"):
        register_segment_field("parsed", type="string", value_parser="not callable")
    assert "parsed" not in segment_fields


def test_lookup_must_be_callable():
    with pytest.raises(TypeError, match="lookup must be callable"):
        register_segment_field("looked", type="string", lookup="not callable")
    assert "looked" not in segment_fields


def test_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown type 'money'"):
        register_segment_field("cash", type="money")
    assert "cash" not in segment_fields


def test_registering_a_name_twice_needs_replace(temp_field):
    temp_field("twice", type="string")
    from django_petmail.exceptions import DuplicateRegistryEntry

    with pytest.raises(DuplicateRegistryEntry):
        register_segment_field("twice", type="number")
    assert segment_fields.get("twice").type == "string"


def test_value_parser_problems_are_reported_at_the_value(temp_field):
    from django_petmail.segments.values import ValueProblem

    def parser(op, raw):
        if raw != "ok":
            raise ValueProblem("only 'ok' will do")
        return raw

    temp_field("parsed_ok", type="string", ops=("eq",), value_parser=parser)
    assert only_error(group({"field": "parsed_ok", "op": "eq", "value": "no"})) == (
        "conditions[0].value",
        "only 'ok' will do",
    )
    (cond,) = validate_rules(group({"field": "parsed_ok", "op": "eq", "value": "ok"})).children
    assert cond.value == "ok"


def test_default_label_and_ops(temp_field):
    field = temp_field("pet__coat_colour", type="choice", path="first_name")
    assert field.label == "Pet coat colour"
    assert field.ops == ("eq", "ne", "in", "not_in", "is_null")
