# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError

from trytond.modules.hb_budget.exceptions import BudgetInsufficientError


class PilotSettingsError(ValidationError):
    "Pilot settings that break the law or are inconsistent"


class DaysOffError(ValidationError):
    "Days off outside the range of the law (937/2005 4 §) or the pilot"


class ConversionError(UserError):
    "A conversion of days off that the pilot rules do not allow"


class ComparisonError(ValidationError):
    "A comparison client or cost that does not fit the pilot"


class MonthlyLimitError(BudgetInsufficientError):
    "A charge above the month's value when unused value does not carry over"
    # the code of the refusal of a charge (hb_voucher keeps the message)
    charge_code = 'monthly_limit'
