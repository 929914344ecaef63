"""django-petmail: email marketing for Django sites (subscriptions, segments, campaigns,
automated sequences, tracking and analytics)."""

__version__ = "0.1.0"
