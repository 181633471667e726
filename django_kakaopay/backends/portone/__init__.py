"""KakaoPay through PortOne V2 (``api.portone.io`` and PortOne's browser SDK).

Configure it as ``"BACKEND": "django_kakaopay.backends.portone.PortOneBackend"``;
the options are described in :mod:`.options` and ``docs/portone.md``.
"""

from .backend import PortOneBackend
from .maps import PAYMENT_STATUS_MAP

__all__ = ["PAYMENT_STATUS_MAP", "PortOneBackend"]
