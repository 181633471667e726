from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


class AgreementForm(forms.Form):
    """The three steps KakaoPay shows for an auto-debit agreement."""

    accept_terms = forms.BooleanField(
        label=_("I have read and confirm the terms of this payment."), required=True
    )
    verification_code = forms.CharField(
        label=_("6-digit verification code"),
        help_text=_("In the sandbox any six digits are accepted."),
        min_length=6,
        max_length=6,
        validators=[RegexValidator(r"^\d{6}$", _("Enter the six digits you received."))],
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"\d{6}"}
        ),
    )
    accept_auto_debit = forms.BooleanField(
        label=_("I agree to the automatic debit (auto-debit) agreement."), required=True
    )
