# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class MunicipalityCodeError(ValidationError):
    pass


class HetuError(ValidationError):
    "An invalid or duplicate personal identity code (HETU)"


class MobileError(ValidationError):
    "An invalid or duplicate mobile phone number"


class PeriodError(ValidationError):
    "A period that ends before it starts"


class AmountError(ValidationError):
    "A negative or zero amount"


class PlanError(ValidationError):
    "A client plan that cannot be agreed or used"


class DecisionError(ValidationError):
    "A decision whose content is not consistent"


class DecisionTotalError(DecisionError):
    "Decision lines that do not sum to the total"


class DecisionAuthorityError(UserError):
    "An approval by someone without the authority to approve"


class DecisionModificationError(AccessError):
    "An attempt to edit an approved, rejected or cancelled decision"


class PlanModificationError(AccessError):
    "An attempt to edit an agreed or superseded plan"


class HetuAccessError(AccessError):
    "An attempt to change a HETU one may not see"


class AccessLogError(AccessError):
    "An attempt to change or delete the access log"


class BudgetError(UserError):
    "A spending operation refused on a budget line; nothing was changed"


class BudgetAmountError(BudgetError):
    "The amount is zero, negative or has more decimals than the currency"


class BudgetStateError(BudgetError):
    "The budget is not active (suspended or closed)"


class BudgetPeriodError(BudgetError):
    "The date falls outside the period of the budget"


class BudgetInsufficientError(BudgetError):
    "Not enough available, reserved or spent amount"


class BudgetModificationError(AccessError):
    "An attempt to change budget figures or the ledger through the ORM"


class BudgetBusyError(BudgetError):
    "A lock conflict on the budget after the retries: try again"


class DecisionReasonsError(DecisionError):
    "A negative or partly negative decision without reasons (45 §)"


class DecisionSendingError(UserError):
    "A decision letter that cannot be sent"


class RectificationError(UserError):
    "A rectification request that cannot be decided"
