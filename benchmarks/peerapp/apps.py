from django.apps import AppConfig


class PeerAppConfig(AppConfig):
    name = "benchmarks.peerapp"
    label = "peerapp"
    default_auto_field = "django.db.models.BigAutoField"
