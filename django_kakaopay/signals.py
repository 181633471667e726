"""Business signals, each sent exactly once per real transition, after commit.

Every signal's ``sender`` is the model class. Receivers get ``instance``,
``old_status``, ``new_status`` and ``source`` (a ``ChangeSource`` value).
"""

from __future__ import annotations

from django.dispatch import Signal

#: Any status change of a Payment, Refund or Preapproval.
status_changed = Signal()

#: A payment became paid: fulfil the order here.
payment_paid = Signal()
#: A payment ended without taking money: ``new_status`` is failed, canceled or expired.
payment_failed = Signal()
#: A refund succeeded; also receives ``refund`` and ``amount``.
payment_refunded = Signal()
#: A preapproval (auto-debit agreement) became active.
preapproval_activated = Signal()
#: A preapproval was canceled, by the merchant, the customer or the provider.
preapproval_canceled = Signal()
