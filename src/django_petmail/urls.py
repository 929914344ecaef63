"""Public pages. Include with ``path("petmail/", include("django_petmail.urls"))``."""

from django.urls import path

from . import views

app_name = "petmail"

urlpatterns = [
    path("subscribe/", views.subscribe_view, name="subscribe"),
    path("subscribe/done/", views.subscribe_done_view, name="subscribe_done"),
    path("confirm/resend/", views.resend_confirmation_view, name="confirm_resend"),
    path("confirm/<str:token>/", views.confirm_view, name="confirm"),
    path("preferences/<str:token>/", views.preferences_view, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("view/<str:token>/", views.view_online_view, name="view_online"),
    path("o/<str:token>.gif", views.open_pixel_view, name="open"),
    path("c/<str:token>/", views.click_view, name="click"),
]
