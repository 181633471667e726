"""Mount with ``path("kakaopay/api/", include("django_kakaopay.api.urls"))``.

Every path under the prefix that no endpoint matches answers the API's JSON
404 (:func:`.views.errors.not_found`), never the project's HTML page.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path
from rest_framework.routers import SimpleRouter

from .views import PaymentViewSet, PreapprovalViewSet
from .views.errors import not_found

app_name = "kakaopay-api"

router = SimpleRouter()
router.register("payments", PaymentViewSet, basename="payment")
router.register("preapprovals", PreapprovalViewSet, basename="preapproval")

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    re_path(r"^(?P<path>.*)$", not_found, name="not-found"),
]
