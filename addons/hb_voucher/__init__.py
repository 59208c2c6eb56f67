# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.

# The web pages and the JSON API register their routes on trytond's WSGI
# application when the module is imported.
from . import (
    api,  # noqa: F401
    api_claims,  # noqa: F401
    client_authorisations,  # noqa: F401
    client_case,  # noqa: F401
    client_claims,  # noqa: F401
    client_page,  # noqa: F401
    portal_claims,  # noqa: F401
    portal_pages,  # noqa: F401
    self_billing_pages,  # noqa: F401
    settlement_advice,  # noqa: F401
)
