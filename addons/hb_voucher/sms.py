# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Sending SMS: one function, chosen in trytond.conf::

    [hb_voucher]
    sms_function = my_package.my_module:send

The function is called as function(to, text) with to in E.164 form.
The default backend (outbox) keeps the messages as hb.sms.message records,
for the demo and the tests."""
import datetime as dt
import importlib

from trytond.config import config
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool

from .tools import insert_row

DEFAULT_FUNCTION = 'trytond.modules.hb_voucher.sms:outbox'


def get_function():
    "Return the SMS function named in the configuration"
    name = config.get('hb_voucher', 'sms_function', default=DEFAULT_FUNCTION)
    module, _, function = name.partition(':')
    return getattr(importlib.import_module(module), function)


def send_sms(to, text):
    "Send text to the phone number to through the configured function"
    return get_function()(to, text)


def outbox(to, text):
    "The default backend: store the message in hb.sms.message"
    pool = Pool()
    Message = pool.get('hb.sms.message')
    if not (isinstance(to, str) and to and isinstance(text, str) and text):
        raise ValueError('an SMS needs a number and a text')
    # One INSERT (an outbox row has nothing for the ORM to check): it is
    # written on every charge request and confirmation (issue 7)
    message_id = insert_row(Message, {
            'to': to, 'text': text, 'date': dt.datetime.now()})
    return Message(message_id)


class Message(ModelSQL, ModelView):
    __name__ = 'hb.sms.message'
    __string__ = "SMS Message"

    to = fields.Char("To", size=30, required=True, readonly=True)
    text = fields.Text("Text", size=2000, required=True, readonly=True)
    date = fields.Timestamp("Date", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.to, Index.Equality()), (t.date, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
