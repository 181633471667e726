"""Provider backends. See :mod:`django_kakaopay.backends.base` for the contract."""
