"""Choosing KakaoPay's terminal type (PC, mobile browser, app) for a request."""

from __future__ import annotations

import re

from django.http import HttpRequest

from .backends.types import TerminalType

_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|Windows Phone|KAKAOTALK", re.IGNORECASE)


def terminal_type_for_user_agent(user_agent: str, default: str = TerminalType.WEB) -> str:
    """``wap`` for phone and tablet browsers, otherwise ``default``.

    An app (``app``) cannot be recognised from a user agent: apps say so
    explicitly through the API or ``create_payment(terminal_type="app")``.
    """
    if user_agent and _MOBILE.search(user_agent):
        return TerminalType.WAP
    return default


def terminal_type_for_request(request: HttpRequest, default: str = TerminalType.WEB) -> str:
    if default == TerminalType.APP:
        return default
    return terminal_type_for_user_agent(request.headers.get("User-Agent", ""), default)


_IOS = re.compile(r"iPhone|iPad|iPod|iOS", re.IGNORECASE)
_ANDROID = re.compile(r"Android", re.IGNORECASE)


def os_type_for_user_agent(user_agent: str) -> str:
    """``ios`` or ``android`` when the user agent says so, else ``""``."""
    if _IOS.search(user_agent or ""):
        return "ios"
    if _ANDROID.search(user_agent or ""):
        return "android"
    return ""


def os_type_for_request(request: HttpRequest) -> str:
    return os_type_for_user_agent(request.headers.get("User-Agent", ""))
