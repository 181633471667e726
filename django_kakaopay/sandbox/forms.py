from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


class AgreementForm(forms.Form):
    """The three steps KakaoPay shows for an auto-debit agreement."""

    accept_terms = forms.BooleanField(
        label=_("I have read and confirm the terms of this payment."), required=True
    )
    # One rule, so a wrong code gets one message: a length limit beside the
    # pattern would report "12345" twice (too short, and not six digits).
    # [0-9], not \d: Python's \d also takes other scripts' digits, the page's pattern does not.
    verification_code = forms.CharField(
        label=_("6-digit verification code"),
        help_text=_("In the sandbox any six digits are accepted."),
        validators=[RegexValidator(r"\A[0-9]{6}\Z", _("Enter the six digits you received."))],
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": r"\d{6}",
                "maxlength": "6",
            }
        ),
    )
    accept_auto_debit = forms.BooleanField(
        label=_("I agree to the automatic debit (auto-debit) agreement."), required=True
    )
