# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Refusals a user can act on for amounts and quantities.

Tryton checks the digits and the domain of a field after it has stored the
values, with generic messages ("exceeds the limit of "(None, 2)"", "not
valid according to its domain"). The models here check the values a user
types first, when they are created or written, and say what to enter."""
from decimal import Decimal, InvalidOperation

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import AmountError

CURRENCY_DIGITS = 2


class AmountCheckMixin:
    "Check the numbers a user types before Tryton's generic checks"
    __slots__ = ()
    # The numeric fields that must be positive, with at most their digits
    _hb_positive_fields = ()

    @classmethod
    def create(cls, vlist):
        cls.hb_check_amounts(vlist)
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        cls.hb_check_amounts(
            [values for _, values in zip(actions, actions)])
        super().write(*args)

    @classmethod
    def _hb_decimals(cls, name):
        "Return the number of decimals allowed for the field"
        pool = Pool()
        Company = pool.get('company.company')
        digits = getattr(getattr(cls, name), 'digits', None)
        if isinstance(digits, tuple):
            return digits[1]
        company = Transaction().context.get('company')
        if company is not None and company >= 0:
            return Company(company).currency.digits
        return CURRENCY_DIGITS

    @classmethod
    def hb_check_amounts(cls, vlist):
        for values in vlist:
            for name in cls._hb_positive_fields:
                value = values.get(name)
                if value is None or isinstance(value, bool):
                    continue
                try:
                    number = Decimal(str(value))
                except (InvalidOperation, ValueError):
                    continue  # not a number: Tryton's own checks refuse it
                if not number.is_finite():
                    continue
                field = cls.fields_get([name])[name]['string']
                if number <= 0:
                    raise AmountError(gettext(
                            'hb_budget.msg_amount_not_positive',
                            field=field, value=value))
                decimals = cls._hb_decimals(name)
                if decimals is not None and (
                        number.as_tuple().exponent < -decimals):
                    raise AmountError(gettext(
                            'hb_budget.msg_amount_decimals',
                            field=field, value=value, digits=decimals,
                            example=number.quantize(
                                Decimal(1).scaleb(-decimals))))
