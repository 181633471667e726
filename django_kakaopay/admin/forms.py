"""Forms of the admin actions' intermediate pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core import signing
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import money
from ..money import exponent, format_money, major_units
from ..services.schedule import local_today


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


# Namespaces the signature, so no other signed value of the site passes here.
REFUND_TOTALS_SALT = "django_kakaopay.admin.refund_totals"


def sign_refund_totals(totals: Mapping[str, int]) -> str:
    return signing.dumps(dict(totals), salt=REFUND_TOTALS_SALT, compress=True)


class RefundForm(forms.Form):
    """Amount and reason of a refund; the caller checks the amount against each payment.

    ``refund_totals`` carries, per payment shown, the refunded plus pending
    total the page showed (payment pk -> minor units), signed. The service
    refuses a refund when that total has moved, so submitting the page twice
    refunds once. Signing keeps the form from being pointed at other
    payments or totals than the page showed.

    ``initial_amount`` (minor units) is what the amount field starts with:
    for a single payment, everything it still has to refund.
    """

    # The admin's stylesheet marks labels of this class as required (bold).
    required_css_class = "required"

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

    # Not "required": a missing token gets the same explanation as a bad one.
    refund_totals = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        currency: str,
        single: bool,
        totals: Mapping[str, int],
        initial_amount: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.single = single
        self.totals = dict(totals)
        # Fixed when the page is first shown; a re-shown page (a typing error)
        # keeps the posted value, so what was first shown stays the reference.
        self.fields["refund_totals"].initial = sign_refund_totals(self.totals)
        usage = self.fields["amount"].help_text
        # Only one payment's amount can be shown; several are each refunded in full.
        if single and initial_amount:
            self.fields["amount"].initial = major_units(initial_amount, currency)
            usage = _(
                "It starts with everything that remains refundable; enter less for a "
                "partial refund."
            )
        self.fields["amount"].help_text = " ".join((amount_hint(currency), str(usage)))

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

    def clean_refund_totals(self) -> dict[str, int]:
        stale = forms.ValidationError(
            _(
                "This page is out of date or was altered. Go back to the list and "
                "start the refund again."
            ),
            code="refund_totals",
        )
        try:
            totals = signing.loads(
                str(self.cleaned_data.get("refund_totals") or ""), salt=REFUND_TOTALS_SALT
            )
        except signing.BadSignature:
            raise stale from None
        # The selection is posted beside the token and could be edited; the
        # token must name exactly the payments being refunded.
        if not isinstance(totals, dict) or set(totals) != set(self.totals):
            raise stale
        if not all(type(total) is int for total in totals.values()):
            raise stale
        return totals


def manual_billing_period() -> str:
    """A billing period key for a one-off charge made today, e.g. ``manual-2026-11-30``.

    Billing plans key their charges ``2026-11-23``, ``2026-W48``, ``2026-11`` or
    ``2026``; a charge under such a key would make the plan's own charge for
    that period a silent no-op (one charge per agreement and period). The
    ``manual-`` prefix never collides with them, and the day keeps a repeated
    submission on the same day deduplicated by that same unique constraint.
    """
    return f"manual-{local_today().isoformat()}"


class ChargeForm(forms.Form):
    required_css_class = "required"

    amount = forms.CharField(label=gettext_lazy("Amount"))
    billing_period = forms.CharField(
        label=gettext_lazy("Billing period"),
        max_length=64,
        help_text=gettext_lazy(
            "One charge per agreement and period: charging the same period again "
            "does not charge twice. The default, manual- and today's date, never "
            "matches a billing plan's periods (such as 2026-11), so it does not use "
            "up a scheduled charge."
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
        kwargs.setdefault("initial", {"billing_period": manual_billing_period()})
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
