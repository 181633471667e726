from __future__ import annotations

from django.urls import path
from django.views.i18n import set_language

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("products/<int:pk>/buy/", views.buy, name="buy"),
    path("products/<int:pk>/subscribe/", views.subscribe, name="subscribe"),
    path("orders/", views.my_orders, name="my-orders"),
    path("orders/<str:reference>/", views.order_detail, name="order-detail"),
    path("orders/<str:reference>/thanks/", views.order_success, name="order-success"),
    path("orders/<str:reference>/failed/", views.order_failure, name="order-failure"),
    path(
        "subscriptions/<str:reference>/",
        views.subscription_detail,
        name="subscription-detail",
    ),
    path(
        "subscriptions/<str:reference>/charge/",
        views.charge_subscription,
        name="subscription-charge",
    ),
    path(
        "subscriptions/<str:reference>/cancel/",
        views.cancel_subscription,
        name="subscription-cancel",
    ),
    path("language/", set_language, name="set-language"),
]
