# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Emails of the marketplace.

Every email is sent with Tryton's transactional mail (``trytond.sendmail``:
it leaves only when the transaction commits, through the SMTP server of the
``[email] uri`` setting) and kept as an ``ir.email`` record attached to the
record it is about (the application, the contract, the web user). Those
records are the local outbox: the back office sees them with the
"Emails" relate of the record, and a demo without an SMTP server still
shows what was sent."""
from email.message import EmailMessage
from urllib.parse import urlencode

import trytond.config as config
from trytond.pool import Pool
from trytond.sendmail import send_message_transactional
from trytond.tools.email_ import set_from_header
from trytond.transaction import Transaction


def sender():
    "Return the From address of marketplace emails"
    pool = Pool()
    Configuration = pool.get('hb.configuration')
    configuration = Configuration(1)
    default = config.get('email', 'from')
    return configuration.hb_mail_from or default


def send_email(to, subject, body, record):
    """Send a plain text email to the address to, about record.

    Returns the ir.email record kept as the outbox entry."""
    pool = Pool()
    Email = pool.get('ir.email')
    msg = EmailMessage()
    msg.set_content(body)
    set_from_header(msg, config.get('email', 'from'), sender())
    msg['To'] = to
    msg['Subject'] = subject
    send_message_transactional(msg)
    email = Email.from_message(msg, body=body, resource=record)
    email.save()
    return email


def password_url(web_user, language='fi'):
    """Return the link where web_user chooses its password with its reset
    token (set by web_user.set_reset_password_token())"""
    pool = Pool()
    Configuration = pool.get('hb.configuration')
    base = (Configuration(1).hb_site_url or '').rstrip('/')
    database = Transaction().database.name
    query = urlencode({
            'email': web_user.email,
            'token': web_user.reset_password_token,
            'lang': language if language in {'fi', 'sv', 'en'} else 'fi',
            })
    return '%s/%s/hb/provider/password?%s' % (base, database, query)
