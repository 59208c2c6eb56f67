# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Sending SMS through an outbox sent after commit.

``send_sms(to, text)`` only writes a queued hb.sms.message in the
request's transaction and queues a task (``ir.queue``) that sends it
through the gateway once that transaction has committed: by a
``trytond-worker`` when ``[queue] worker = True``, else by the request's
own process after its commit. A request retried after a lock conflict or
rolled back sends nothing (its message and its task are rolled back with
it). The scheduled task "Send Queued SMS" sends what is still queued
(a gateway that failed is tried again, up to MAX_ATTEMPTS times).

The gateway is a function gateway(to, text), to in E.164 form, named by
its dotted name in the settings (SMS Gateway), resolved with
trytond.tools.resolve; it raises when the message is not sent. The
default gateway sends nothing and marks the message sent: the demo and
the tests read the outbox."""
import datetime as dt
import logging

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import resolve

from .tools import insert_row

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY = 'trytond.modules.hb_voucher.sms.mark_sent'
MAX_ATTEMPTS = 5
_gateway_name = Cache('hb_voucher.sms.gateway_name', context=False)
RETRY_DELAY = dt.timedelta(minutes=1)


class SMSGatewayError(ValidationError):
    pass


def money(amount, language):
    """The amount as an SMS writes it: 1 234,50 € in Finnish and Swedish,
    €1,234.50 in English"""
    text = '{:,.2f}'.format(amount)
    if language in {'fi', 'sv'}:
        return text.replace(',', '\u00a0').replace('.', ',') + ' €'
    return '€' + text


def mark_sent(to, text):
    "The default gateway: nothing leaves, the outbox shows the message sent"


def resolve_gateway(name):
    "Return the gateway function of the dotted name (the default if empty)"
    gateway = resolve(name or DEFAULT_GATEWAY)
    if not callable(gateway):
        raise TypeError('%s is not callable' % name)
    return gateway


def get_gateway():
    "Return the gateway function named in the settings"
    Configuration = Pool().get('hb.configuration')
    # (read on every message: the whole settings record costs more than
    # sending it; cleared when the settings change)
    name = _gateway_name.get('name', -1)
    if name == -1:
        name = Configuration(1).hb_sms_gateway
        _gateway_name.set('name', name)
    return resolve_gateway(name)


def queue_sms(to, text):
    "Write text to the phone number to in the outbox, to be sent"
    pool = Pool()
    Message = pool.get('hb.sms.message')
    if not (isinstance(to, str) and to and isinstance(text, str) and text):
        raise ValueError('an SMS needs a number and a text')
    # One INSERT (an outbox row has nothing for the ORM to check): it is
    # written on every charge request and confirmation (issue 7)
    message_id = insert_row(Message, {
            'to': to, 'text': text, 'date': dt.datetime.now(),
            'state': 'queued', 'attempts': 0})
    return Message(message_id)


def send_sms(to, text):
    """Queue text to the phone number to; it is sent after the commit of
    the transaction"""
    pool = Pool()
    Message = pool.get('hb.sms.message')
    message = queue_sms(to, text)
    Message.__queue__.send([message])
    return message


class Message(ModelSQL, ModelView):
    __name__ = 'hb.sms.message'
    __string__ = "SMS Message"

    to = fields.Char("To", size=30, required=True, readonly=True)
    text = fields.Text("Text", size=2000, required=True, readonly=True)
    date = fields.Timestamp("Date", required=True, readonly=True)
    state = fields.Selection([
            ('queued', "Queued"),
            ('sent', "Sent"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    attempts = fields.Integer("Attempts", required=True, readonly=True,
        help="The times the gateway failed to send the message.")
    sent_date = fields.Timestamp("Sent Date", readonly=True,
        states={
            'invisible': Eval('state') != 'sent',
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.to, Index.Equality()), (t.date, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state == 'queued'),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def send(cls, messages, gateway=None):
        """Send the queued messages through gateway (the settings' by
        default): sent ones are marked sent, failed ones stay queued to be
        tried again, up to MAX_ATTEMPTS times"""
        messages = [m for m in messages if m.state == 'queued']
        if not messages:
            return
        if gateway is None:
            gateway = get_gateway()
        sent, retry, failed = [], [], []
        for message in messages:
            try:
                gateway(message.to, message.text)
            except Exception as exception:
                logger.warning("SMS %s not sent: %r", message.id, exception,
                    exc_info=logger.isEnabledFor(logging.DEBUG))
                message.attempts += 1
                if message.attempts >= MAX_ATTEMPTS:
                    failed.append(message)
                else:
                    retry.append(message)
            else:
                sent.append(message)
        now = dt.datetime.now()
        to_write = []
        if sent:
            to_write.extend([sent, {'state': 'sent', 'sent_date': now}])
        for message in retry + failed:
            to_write.extend([[message], {
                        'attempts': message.attempts,
                        'state': 'failed' if message in failed else 'queued',
                        }])
        cls.write(*to_write)

    @classmethod
    def send_queued(cls, delay=RETRY_DELAY):
        """Send the messages still queued delay after they were written
        (the scheduled task): those whose gateway failed, or whose queue
        task did not run (a worker down). The delay leaves each message to
        its own queue task first."""
        messages = cls.search([
                ('state', '=', 'queued'),
                ('date', '<=', dt.datetime.now() - delay),
                ], order=[('date', 'ASC'), ('id', 'ASC')], limit=1000)
        cls.send(messages)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('hb.sms.message|send_queued', "Send Queued SMS"))


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_sms_gateway = fields.Char("SMS Gateway", size=200,
        help="The dotted name of the function sending an SMS, called as "
        "function(to, text). Empty: messages stay in the outbox, marked "
        "sent.")

    @classmethod
    def on_modification(cls, mode, configurations, field_names=None):
        super().on_modification(mode, configurations, field_names=field_names)
        _gateway_name.clear()

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        if field_names and 'hb_sms_gateway' not in field_names:
            return
        for configuration in configurations:
            try:
                resolve_gateway(configuration.hb_sms_gateway)
            except Exception:
                raise SMSGatewayError(gettext(
                        'hb_voucher.msg_sms_gateway_invalid',
                        gateway=configuration.hb_sms_gateway)) from None
