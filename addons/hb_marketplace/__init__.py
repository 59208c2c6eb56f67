# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.

# The web pages register their routes on trytond's WSGI application when
# the module is imported.
from . import routes  # noqa: F401
