"""Bench-only app: the concrete payment model django-payments asks a project to define."""
