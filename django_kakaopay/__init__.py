"""Accept KakaoPay payments and auto-debit agreements in Django."""

__version__ = "0.1.0"
