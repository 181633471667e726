"""Who may call the API; both lists are replaceable in ``KAKAOPAY``."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from ..conf import get_setting

#: The model permission each staff action needs (``view.action`` → permission).
STAFF_ACTION_PERMISSIONS: dict[str, str] = {
    "refunds": "django_kakaopay.refund_payment",
    "charges": "django_kakaopay.charge_preapproval",
}


class HasKakaoPayStaffPermission(BasePermission):
    """Refunds need ``refund_payment``; charges need ``charge_preapproval``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        action = getattr(view, "action", None) or ""
        needed = STAFF_ACTION_PERMISSIONS.get(action)
        user = request.user
        if needed is None:
            return bool(user and user.is_authenticated and user.is_staff)
        return bool(user and user.is_authenticated and user.has_perm(needed))


def _load(path: Any) -> type[BasePermission]:
    loaded = import_string(path) if isinstance(path, str) else path
    if not (isinstance(loaded, type) and issubclass(loaded, BasePermission)):
        raise TypeError(f"{path!r} is not a rest_framework permission class.")
    return loaded


def api_permissions() -> list[BasePermission]:
    """Instances of ``KAKAOPAY["API_PERMISSION_CLASSES"]``."""
    return [_load(path)() for path in get_setting("API_PERMISSION_CLASSES")]


def staff_permission() -> BasePermission:
    """An instance of ``KAKAOPAY["API_STAFF_PERMISSION"]``."""
    return _load(get_setting("API_STAFF_PERMISSION"))()
