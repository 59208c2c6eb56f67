# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.

# Keep HETUs out of the request log lines of the server
from . import privacy  # noqa: F401,E402
