"""A REST API (Django REST framework) over the same services as the checkout views.

Optional: mount it with ``path("kakaopay/api/", include("django_kakaopay.api.urls"))``.
It needs the ``api`` extra (``pip install django-kakaopay[api]``) for its
OpenAPI schema support.
"""
