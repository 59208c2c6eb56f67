# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Keep personal identity codes (HETU) out of the server's log lines.

Tryton's dispatcher logs every RPC call with its arguments, so a search
by HETU would write the code into the log. The filter installed here on
the loggers that write requests replaces anything shaped like a HETU
(also a partial one, as in an "ilike" search) by a placeholder."""
import logging
import re

# DDMMYY, century sign, individual number and an optional check character
HETU_PATTERN = re.compile(
    r'(?<![0-9])[0-3][0-9][01][0-9][0-9]{2}[-+A-FU-Y][0-9]{3}[0-9A-Y]?'
    r'(?![0-9A-Za-z])', re.IGNORECASE)
PLACEHOLDER = '[HETU]'
LOGGERS = [
    'trytond.protocols.dispatcher',
    'trytond.protocols.wrappers',
    'trytond.wsgi',
    'werkzeug',
    ]


def redact(text):
    "Return text with every HETU-shaped part replaced"
    return HETU_PATTERN.sub(PLACEHOLDER, text)


class HetuFilter(logging.Filter):
    "Replace HETUs in the message of each record"

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = HetuFilter()


def install():
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


install()
