"""Make the example shop ready to use: migrate, add products, (re)set the admin login.

Safe to run any number of times: products are matched by name and the admin
user is created or given a new random password.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from ...models import Product

PRODUCTS: list[dict[str, Any]] = [
    {
        # The same order as the provider examples and the conformance kit.
        "name": "Wireless headphones",
        "price": 11000,
        "is_subscription": False,
        "description": "Bluetooth over-ear headphones with 30 hours of battery.",
    },
    {
        "name": "Phone case",
        "price": 5500,
        "is_subscription": False,
        "description": "A slim, shock-absorbing case in five colours.",
    },
    {
        "name": "USB-C charger",
        "price": 19900,
        "is_subscription": False,
        "description": "A 45 W fast charger for phones, tablets and laptops.",
    },
    {
        "name": "Coffee beans, monthly",
        "price": 9900,
        "is_subscription": True,
        "description": "A fresh 500 g bag of single-origin beans every month.",
    },
]


class Command(BaseCommand):
    help = "Migrate, add the example products and create (or reset) the admin login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username", default="admin", help="The admin user to create or reset."
        )
        parser.add_argument(
            "--site-url",
            default="",
            help="Where the shop is served, for the printed links "
            '(default: KAKAOPAY["SITE_URL"] or http://127.0.0.1:8000).',
        )
        parser.add_argument("--skip-migrate", action="store_true", help="Do not run migrate first.")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        if not options["skip_migrate"]:
            call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        created = self.seed_products()
        username, password = self.reset_admin(options["username"])

        site_url = (
            options["site_url"]
            or getattr(settings, "KAKAOPAY", {}).get("SITE_URL")
            or "http://127.0.0.1:8000"
        ).rstrip("/")
        style = self.style
        self.stdout.write(
            style.SUCCESS("The example shop is ready.")
            + f" {Product.objects.count()} products ({created} new)."
        )
        self.stdout.write(f"  Shop:     {site_url}/")
        self.stdout.write(f"  Admin:    {site_url}/admin/")
        self.stdout.write(f"  Username: {username}")
        self.stdout.write(f"  Password: {password}")
        self.stdout.write(
            style.WARNING("  (a new random password is set every time this command runs)")
        )

    @transaction.atomic
    def seed_products(self) -> int:
        created = 0
        for values in PRODUCTS:
            _product, was_created = Product.objects.get_or_create(
                name=values["name"],
                defaults={key: value for key, value in values.items() if key != "name"},
            )
            created += was_created
        return created

    @transaction.atomic
    def reset_admin(self, username: str) -> tuple[str, str]:
        User = get_user_model()
        password = secrets.token_urlsafe(12)
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            user = User(**{User.USERNAME_FIELD: username})
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        return username, password
