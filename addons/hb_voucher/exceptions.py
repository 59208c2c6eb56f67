# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class ChargeError(UserError):
    """A charge operation refused, with a stable machine-readable code.

    When persist is True the refusal itself changed something that must be
    kept (a wrong code counted, an expired request released): the caller
    commits instead of rolling back."""

    def __init__(self, code, message, description='', persist=False,
            status=400):
        super().__init__(message, description)
        self.code = code
        self.persist = persist
        self.status = status


class ChargeModificationError(AccessError):
    "An attempt to change a charge outside its workflow"


class BillingError(UserError):
    "Vendor bills cannot be made (settings missing)"
