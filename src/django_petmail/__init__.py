"""django-petmail: email marketing for Django sites (subscriptions, segments, campaigns,
automated sequences, tracking and analytics)."""

__version__ = "0.1.0"


def trigger(name: str, recipient: object, **data: object) -> object:
    """Fire the event trigger ``name`` for ``recipient`` (an owner or a subscription).

    See :func:`django_petmail.sequences.enrollment.trigger`.
    """
    # imported when called: the package root is imported before Django's apps are ready
    from .sequences.enrollment import trigger as fire

    return fire(name, recipient, **data)
