from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KakaoPayConfig(AppConfig):
    name = "django_kakaopay"
    label = "django_kakaopay"
    verbose_name = _("KakaoPay")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
