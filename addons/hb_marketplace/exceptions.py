# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError, ValidationError


class ApplicationError(ValidationError):
    "A provider application (or what it proposes) is not acceptable"


class InvalidBusinessId(ApplicationError):
    pass


class InvalidVATNumber(ApplicationError):
    pass


class InvalidIBAN(ApplicationError):
    pass


class InvalidBIC(ApplicationError):
    pass


class InvalidEmail(ApplicationError):
    pass


class InvalidPhone(ApplicationError):
    pass


class DuplicateApplication(ApplicationError):
    pass


class RulebookNotAccepted(ApplicationError):
    pass


class ApplicationIncomplete(UserError):
    "The review checklist is not complete"


class ReasonRequired(UserError):
    pass


class PriceAboveCap(ValidationError):
    pass


class InvalidPrice(ValidationError):
    pass


class ProviderNotActive(UserError):
    "The provider has no active contract (suspended or terminated)"


class ContractError(ValidationError):
    pass


class RatingError(ValidationError):
    pass


class ServiceModificationError(AccessError):
    pass


class PortalUserError(UserError):
    pass


class ProviderConfirmationError(UserError):
    "A change request for an existing provider lacks its confirmation"


class ExistingProviderWarning(UserWarning):
    "The application concerns a provider that already exists"
