"""What every API viewset shares: JSON only, permissions from ``KAKAOPAY``, the
create endpoints' rate, pagination, no request transaction, and who owns a row.

The answers are JSON. The browsable API (HTML for ``Accept: text/html``) is
the project's choice: it is offered when the project's renderers include it
*and* ``rest_framework`` is in ``INSTALLED_APPS``, where its templates live;
otherwise a request that accepts only HTML gets 406 in JSON, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.apps import apps
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from rest_framework import viewsets
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import (
    BaseRenderer,
    BrowsableAPIRenderer,
    JSONRenderer,
    TemplateHTMLRenderer,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from ...conf import get_setting
from ..permissions import STAFF_ACTION_PERMISSIONS, api_permissions, staff_permission

CREATE_SCOPE = "kakaopay-create"


class CreateRateThrottle(SimpleRateThrottle):
    """Per-caller rate of the create endpoints: ``KAKAOPAY["API_CREATE_RATE"]``."""

    scope = CREATE_SCOPE

    def __init__(self) -> None:  # the rate is read per request, not at import
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self) -> str | None:
        rate = get_setting("API_CREATE_RATE")
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            ident = str(request.user.pk)
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiPagination(PageNumberPagination):
    """``?page=`` from 1 and ``?page_size=`` from 1 to 100, refused otherwise."""

    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()  # ``?page=last`` is no whole number: 404 like any other

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = int(get_setting("API_PAGE_SIZE"))
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Enter a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number from 1; past the last page: 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Results per page, from 1 to {self.max_page_size} "
                    '(default: KAKAOPAY["API_PAGE_SIZE"]).'
                ),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class _BodyTolerantForms:
    """The browsable API fills its form from the request's body again, after the
    view answered: a body the view never read (a form posted to a JSON-only
    endpoint) raised ``UnsupportedMediaType`` there, a 500. No form then."""

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        try:
            return super().get_rendered_html_form(data, view, method, request)  # type: ignore[misc]
        except UnsupportedMediaType:
            return None


_TOLERANT: dict[type[BrowsableAPIRenderer], type[BrowsableAPIRenderer]] = {}


def _tolerant(renderer: type[BrowsableAPIRenderer]) -> type[BrowsableAPIRenderer]:
    if renderer not in _TOLERANT:
        _TOLERANT[renderer] = type(renderer.__name__, (_BodyTolerantForms, renderer), {})
    return _TOLERANT[renderer]


def api_renderers() -> list[BaseRenderer]:
    """The project's renderers, without those that cannot render these views.

    A ``TemplateHTMLRenderer`` needs a template the views do not name; the
    browsable API needs ``rest_framework``'s templates, so it stays only when
    that app is installed. JSON remains when nothing else does.
    """
    installed = apps.is_installed("rest_framework")
    kept: list[BaseRenderer] = []
    configured = cast("Sequence[type[BaseRenderer]]", api_settings.DEFAULT_RENDERER_CLASSES)
    for renderer in configured:
        if issubclass(renderer, TemplateHTMLRenderer):
            continue
        if issubclass(renderer, BrowsableAPIRenderer):
            if installed:
                kept.append(_tolerant(renderer)())
            continue
        kept.append(renderer())
    return kept or [JSONRenderer()]


def _non_atomic(view: Callable[..., Any]) -> Callable[..., Any]:
    return transaction.non_atomic_requests(view)


def wants_sync(request: Request) -> bool:
    """``?sync=1``: the caller asks for the provider's current state, not ours."""
    return str(request.query_params.get("sync", "")).lower() in ("1", "true", "yes")


class KakaoPayViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Shared settings: JSON only, permissions from ``KAKAOPAY``, no request transaction."""

    parser_classes = [JSONParser]
    pagination_class = ApiPagination
    schema = AutoSchema()

    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Any:
        return _non_atomic(super().as_view(actions, **initkwargs))

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        """The project's handler, minus its rollback of an enclosing transaction.

        These views run outside the request transaction, so an ``atomic`` block
        around them (a test's, a caller's) is not theirs to roll back.
        """
        handler = super().get_exception_handler()

        def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
            saved = {conn.alias: conn.needs_rollback for conn in connections.all()}
            try:
                response: Response | None = handler(exc, context)
            finally:
                for conn in connections.all():
                    if conn.alias in saved and conn.in_atomic_block:
                        conn.needs_rollback = saved[conn.alias]
            return response

        return handle

    def get_renderers(self) -> list[BaseRenderer]:
        return api_renderers()

    def get_permissions(self) -> Sequence[BasePermission]:
        permissions: list[BasePermission] = api_permissions()
        if self.is_staff_action():
            permissions.append(staff_permission())
        return permissions

    def get_throttles(self) -> Sequence[BaseThrottle]:  # type: ignore[override]
        if self.action == "create":
            return [CreateRateThrottle()]
        return []

    def is_staff_action(self) -> bool:
        return (
            self.action in STAFF_ACTION_PERMISSIONS
            and self.request is not None
            and self.request.method == "POST"
        )

    def owned(self, queryset: QuerySet[Any], view_permission: str) -> QuerySet[Any]:
        """All rows for staff (view permission or a staff action), else the caller's own."""
        user = self.request.user
        if user is not None and user.is_authenticated:
            if user.has_perm(view_permission) or self.is_staff_action():
                return queryset
            return queryset.filter(user=user)
        session = self.request._request.session.session_key
        if not session:
            return queryset.none()
        return queryset.filter(user__isnull=True, metadata__api_session=session)

    def caller_metadata(self) -> dict[str, str]:
        """Anonymous callers (if the permissions allow them) own rows through their session."""
        user = self.request.user
        if user is not None and user.is_authenticated:
            return {}
        session = self.request._request.session
        if not session.session_key:
            session.save()
        return {"api_session": str(session.session_key)}
