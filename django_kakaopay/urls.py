from django.urls import path

from . import views
from .sandbox import views as sandbox_views

app_name = "kakaopay"

urlpatterns = [
    path("checkout/<str:token>/", views.checkout, name="checkout"),
    path("preapprovals/<str:token>/", views.preapproval_checkout, name="preapproval-checkout"),
    path("return/<str:token>/", views.return_view, name="return"),
    path("webhooks/<str:alias>/", views.webhook, name="webhook"),
    path(
        "sandbox/<str:alias>/pay/<str:transaction_id>/",
        sandbox_views.payment_page,
        name="sandbox-payment",
    ),
    path(
        "sandbox/<str:alias>/agreements/<str:transaction_id>/",
        sandbox_views.preapproval_page,
        name="sandbox-preapproval",
    ),
]
