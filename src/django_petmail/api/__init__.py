"""REST API (the ``drf`` extra). Include with
``path("petmail/api/", include("django_petmail.api.urls"))``."""
