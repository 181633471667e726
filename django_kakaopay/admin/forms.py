"""Forms of the admin actions' intermediate pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import money
from ..money import exponent, format_money, major_units


def parse_major_units(text: str, currency: str) -> int:
    """The money layer's parser, with its message as a form error."""
    try:
        return money.parse_major_units(text, currency)
    except ValueError as exc:
        raise forms.ValidationError(str(exc), code="invalid") from exc


def amount_hint(currency: str) -> str:
    """How to type an amount in ``currency``, with an example in its own notation."""
    example = 11000 * 10 ** exponent(currency)
    return _("In %(currency)s as the customer sees it: %(typed)s means %(shown)s.") % {
        "currency": currency,
        "typed": major_units(example, currency),
        "shown": format_money(example, currency),
    }


class RefundForm(forms.Form):
    """Amount and reason of a refund; the caller checks the amount against each payment."""

    amount = forms.CharField(
        label=gettext_lazy("Amount"),
        required=False,
        help_text=gettext_lazy("Leave empty to refund everything that remains."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=255,
        help_text=gettext_lazy("Kept with the refund and sent to the provider."),
    )

    def __init__(self, *args: Any, currency: str, single: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.single = single
        self.fields["amount"].help_text = " ".join(
            (amount_hint(currency), str(self.fields["amount"].help_text))
        )

    def clean_amount(self) -> int | None:
        text = str(self.cleaned_data.get("amount") or "").strip()
        if not text:
            return None
        if not self.single:
            raise forms.ValidationError(
                _(
                    "A partial amount can be given for one payment at a time. "
                    "Leave it empty to refund each selected payment in full."
                ),
                code="partial_many",
            )
        return parse_major_units(text, self.currency)


def current_billing_period() -> str:
    """This month in the site's time zone, e.g. ``2026-11``: one charge per month by default."""
    return timezone.localdate().strftime("%Y-%m")


class ChargeForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount"))
    billing_period = forms.CharField(
        label=gettext_lazy("Billing period"),
        max_length=64,
        help_text=gettext_lazy(
            "One charge per agreement and period: charging the same period again "
            "does not charge twice."
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=255,
        required=False,
        help_text=gettext_lazy("Empty: the agreement's own description."),
    )

    def __init__(
        self, *args: Any, currency: str, max_amount: int | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"billing_period": current_billing_period()})
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.max_amount = max_amount
        self.fields["amount"].help_text = amount_hint(currency)

    def clean_amount(self) -> int:
        amount = parse_major_units(str(self.cleaned_data.get("amount") or ""), self.currency)
        if self.max_amount is not None and amount > self.max_amount:
            raise forms.ValidationError(
                _("The agreed maximum per charge is %(max)s.")
                % {"max": format_money(self.max_amount, self.currency)},
                code="max_amount",
            )
        return amount

    def clean_billing_period(self) -> str:
        return str(self.cleaned_data.get("billing_period") or "").strip()
