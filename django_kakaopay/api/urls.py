"""Mount with ``path("kakaopay/api/", include("django_kakaopay.api.urls"))``."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from .views import PaymentViewSet, PreapprovalViewSet

app_name = "kakaopay-api"

router = SimpleRouter()
router.register("payments", PaymentViewSet, basename="payment")
router.register("preapprovals", PreapprovalViewSet, basename="preapproval")

urlpatterns = router.urls
