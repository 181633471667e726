"""An example shop that takes KakaoPay payments with django-kakaopay."""
