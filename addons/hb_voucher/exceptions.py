# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class ChargeError(UserError):
    """A charge operation refused, with a stable machine-readable code
    (the HTTP status of each code is api.py's STATUSES).

    The caller rolls its transaction back: what a refusal must keep (a
    wrong code counted, an expired request released) is committed in a
    transaction of its own (Charge._record_refusal)."""

    def __init__(self, code, message, description=''):
        super().__init__(message, description)
        self.code = code


class ChargeModificationError(AccessError):
    "An attempt to change a charge outside its workflow"


class BillingError(UserError):
    "Vendor bills cannot be made (settings missing)"


class ClientRequestError(UserError):
    "A client's request (client_request.py) cannot be made or handled"


class ClaimError(UserError):
    """A standing authorisation or a claim refused, with a stable
    machine-readable code (the HTTP status of each code is api.py's
    STATUSES); nothing of the refused operation is written"""

    def __init__(self, code, message, description=''):
        super().__init__(message, description)
        self.code = code


class EinvoiceError(UserError):
    "A bill's e-invoice (einvoice.py) cannot be made"


class BankFileError(UserError):
    "A bank's file (camt) that cannot be read"
