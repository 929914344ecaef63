"""Compiler details the property test does not reach: path splitting, expressions returned
by callables, and errors raised while compiling."""

import pytest
from django.db.models import Exists, OuterRef
from django.utils import translation

from clinic.models import Pet
from django_petmail.exceptions import RuleValidationError
from django_petmail.models import NewsletterSubscription
from django_petmail.segments.compiler import compile_rules, split_to_many
from django_petmail.segments.fields import FieldType, register_segment_field, segment_fields
from django_petmail.segments.lookups import JSONListContains
from django_petmail.segments.rules import validate_rules
from django_petmail.segments.service import members_for_rules
from tests.factories import OwnerFactory, PetFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """Rule validation messages are translatable; these tests assert their English msgids
    (requests get LANGUAGE_CODE from LocaleMiddleware, the test itself the override)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_split_to_many_finds_the_first_to_many_hop():
    related, link, outer, rest = split_to_many(NewsletterSubscription, "owner__pets__species")
    assert (related, link, outer, rest) == (Pet, "owner", "owner", "species")
    related, link, outer, rest = split_to_many(NewsletterSubscription, "email_sends__status")
    assert (related.__name__, link, outer, rest) == ("EmailSend", "subscription", "pk", "status")


def test_split_to_many_without_a_to_many_hop_is_an_error():
    with pytest.raises(ValueError, match="crosses no to-many relation"):
        split_to_many(NewsletterSubscription, "owner__email")


def test_empty_rules_select_everyone_eligible():
    SubscriptionFactory.create_batch(2)
    SubscriptionFactory(status="pending")
    assert compile_rules(None).children == []
    assert members_for_rules({}).count() == 2
    assert members_for_rules(None).count() == 2


def test_callable_may_return_an_expression_instead_of_a_q():
    owner = OwnerFactory()
    PetFactory(owner=owner)
    member = SubscriptionFactory(owner=owner, email=owner.email)
    SubscriptionFactory()

    def has_pets(op, value):
        return Exists(Pet.objects.filter(owner=OuterRef("owner")))

    with segment_fields.temporarily(
        "has_pets_expr",
        segment_fields.get("pets").__class__(
            name="has_pets_expr",
            type=FieldType.BOOLEAN,
            label="x",
            ops=("eq",),
            lookup=has_pets,
        ),
    ):
        rules = {
            "operator": "AND",
            "conditions": [{"field": "has_pets_expr", "op": "eq", "value": True}],
        }
        assert list(members_for_rules(rules)) == [member]


def test_to_many_path_ending_at_the_relation_only_allows_exists():
    register_segment_field(
        "pets_raw", type=FieldType.STRING, path="owner__pets", to_many=True, ops=("eq",)
    )
    try:
        rules = {"operator": "AND", "conditions": [{"field": "pets_raw", "op": "eq", "value": "x"}]}
        with pytest.raises(RuleValidationError) as excinfo:
            compile_rules(validate_rules(rules))
        assert excinfo.value.errors[0][0] == "conditions[0]"
        assert "only 'exists' applies" in excinfo.value.errors[0][1]
    finally:
        segment_fields.unregister("pets_raw")


def test_json_list_contains_on_this_database():
    a = SubscriptionFactory(topics=["news", "pet_tips"])
    SubscriptionFactory(topics=["promotions"])
    SubscriptionFactory(topics=[])
    got = NewsletterSubscription.objects.filter(JSONListContains("topics", "news"))
    assert list(got) == [a]
    # a value that only appears as a substring of an element does not match
    assert not NewsletterSubscription.objects.filter(JSONListContains("topics", "pet")).exists()


def test_a_value_parser_that_raises_is_a_validation_error():
    def parser(op, raw):
        raise TypeError("boom")

    register_segment_field(
        "fragile",
        type=FieldType.STRING,
        lookup=lambda op, v: None,
        ops=("eq",),
        value_parser=parser,
    )
    try:
        rules = {"operator": "AND", "conditions": [{"field": "fragile", "op": "eq", "value": "x"}]}
        with pytest.raises(RuleValidationError) as excinfo:
            validate_rules(rules)
        assert excinfo.value.errors == [
            ("conditions[0].value", "could not be read for field 'fragile': boom")
        ]
    finally:
        segment_fields.unregister("fragile")
