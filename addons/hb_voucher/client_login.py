# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The login of the client page: a mobile number and a one-time code sent
to it by SMS.

It stands in for strong electronic identification (Suomi.fi) and is kept
as one replaceable piece: the pages only call ``ClientLogin.send_code``,
``ClientLogin.verify`` and ``ClientLogin.get_session``. A login is made
by the client or by a representative with a right to see the balance or
to confirm charges; the session then acts for that client with that
person's rights. Only hashes of the code and of the session key are
stored."""
import datetime as dt
import hashlib
import hmac
import secrets

from trytond.config import config
from trytond.exceptions import RateLimitException
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hb_budget.party import normalize_mobile

from . import sms

CODE_DIGITS = 6
CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 3
# How often an active session's last activity is written
REFRESH = dt.timedelta(seconds=30)
STATES = [
    ('code_sent', "Code Sent"),
    ('active', "Active"),
    ('ended', "Ended"),
    ('failed', "Failed"),
    ]


def _digest(value):
    return hashlib.sha256(value.encode('utf-8')).hexdigest()


class ClientLogin(ModelSQL, ModelView):
    __name__ = 'hb.client.login'
    __string__ = "Client Page Login"

    mobile = fields.Char("Mobile", size=30, required=True, readonly=True)
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='CASCADE')
    representative = fields.Many2One(
        'hb.client.representative', "Representative", readonly=True,
        ondelete='CASCADE',
        help="The representative who logged in for the client.")
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    code_hash = fields.Char("Code Hash", size=200, readonly=True)
    code_expires = fields.Timestamp("Code Expires", readonly=True)
    attempts = fields.Integer("Wrong Codes", readonly=True)
    session_hash = fields.Char("Session Hash", size=200, readonly=True)
    last_seen = fields.Timestamp("Last Seen", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.session_hash, Index.Equality())),
                Index(t, (t.mobile, Index.Equality()),
                    (t.state, Index.Equality())),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'code_sent'

    @classmethod
    def default_attempts(cls):
        return 0

    @property
    def may_view_balance(self):
        return (not self.representative
            or bool(self.representative.may_view_balance))

    @property
    def may_confirm_charges(self):
        return (not self.representative
            or bool(self.representative.may_confirm_charges))

    @property
    def person(self):
        "The party who logged in: the client or the representative"
        return (self.representative.party if self.representative
            else self.client)

    @classmethod
    def _now(cls):
        return dt.datetime.now()

    @classmethod
    def timeout(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        minutes = Configuration(1).hb_client_session_timeout or 15
        return dt.timedelta(minutes=minutes)

    @classmethod
    def identify(cls, mobile):
        """Return (client, representative) of the mobile number, or None
        when no one or more than one may log in with it"""
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        with without_check_access():
            clients = Party.search([
                    ('hb_client', '=', True),
                    ('hb_mobile', '=', mobile),
                    ('active', '=', True),
                    ], limit=2)
            representatives = Representative.search([
                    ('mobile', '=', mobile),
                    ('client.active', '=', True),
                    ['OR',
                        ('may_view_balance', '=', True),
                        ('may_confirm_charges', '=', True),
                        ],
                    ], limit=2)
        found = [(c, None) for c in clients] + [
            (r.client, r) for r in representatives]
        if len(found) == 1:
            return found[0]
        return None

    @classmethod
    def _attempt_key(cls, mobile):
        return 'hb-client:%s' % mobile

    @classmethod
    def check_rate(cls, mobile):
        """Raise RateLimitException when the number had too many failed
        codes recently (web_user's own counter, [session] max_attempt)"""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        if Attempt.count(cls._attempt_key(mobile)) >= config.getint(
                'session', 'max_attempt', default=5):
            raise RateLimitException()

    @classmethod
    def send_code(cls, mobile, language='fi'):
        """Send a one-time code to the mobile number if it may log in.

        Return the normalised number, or None when it is not a valid
        mobile number. Whether the number is known is never told (the
        page says the same either way)."""
        number = normalize_mobile(mobile) if isinstance(mobile, str) else None
        if not number:
            return None
        cls.check_rate(number)
        found = cls.identify(number)
        if not found:
            return number
        client, representative = found
        pending = cls.search([
                ('mobile', '=', number),
                ('state', '=', 'code_sent'),
                ])
        if pending:
            cls.write(pending, {'state': 'failed'})
        code = ''.join(secrets.choice('0123456789')
            for _ in range(CODE_DIGITS))
        salt = secrets.token_hex(8)
        login = cls(mobile=number, client=client,
            representative=representative,
            code_hash='%s$%s' % (salt, _digest('%s:%s' % (salt, code))),
            code_expires=cls._now() + CODE_LIFETIME)
        login.save()
        with Transaction().set_context(language=language):
            text = gettext('hb_voucher.msg_client_login_sms', code=code,
                minutes=int(CODE_LIFETIME.total_seconds() // 60))
        sms.send_sms(number, text)
        return number

    def check_code(self, code):
        if not self.code_hash or not isinstance(code, str):
            return False
        salt, _, digest = self.code_hash.partition('$')
        return hmac.compare_digest(
            _digest('%s:%s' % (salt, code.strip())), digest)

    @classmethod
    def verify(cls, mobile, code):
        """Return (login, session key) when code is the pending code of
        the mobile number, else (None, None) after counting the failure.
        Raise RateLimitException after too many failures."""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        number = normalize_mobile(mobile) if isinstance(mobile, str) else None
        if not number:
            return None, None
        cls.check_rate(number)
        now = cls._now()
        logins = cls.search([
                ('mobile', '=', number),
                ('state', '=', 'code_sent'),
                ], limit=1)
        login = logins[0] if logins else None
        if login and login.code_expires < now:
            login.state = 'failed'
            login.save()
            login = None
        if not login or not login.check_code(code):
            Attempt.add(cls._attempt_key(number))
            if login:
                login.attempts += 1
                if login.attempts >= CODE_ATTEMPTS:
                    login.state = 'failed'
                login.save()
            return None, None
        Attempt.remove(cls._attempt_key(number))
        key = secrets.token_urlsafe(32)
        login.state = 'active'
        login.code_hash = None
        login.session_hash = _digest(key)
        login.last_seen = now
        login.save()
        return login, key

    @classmethod
    def get_session(cls, key):
        """Return the active login of the session key or None; an idle
        session ends, an active one is refreshed"""
        pool = Pool()
        Party = pool.get('party.party')
        if not key or len(key) > 100:
            return None
        logins = cls.search([
                ('session_hash', '=', _digest(key)),
                ('state', '=', 'active'),
                ], limit=1)
        if not logins:
            return None
        login, = logins
        now = cls._now()
        if not login.last_seen or now - login.last_seen > cls.timeout():
            if not Transaction().readonly:
                login.state = 'ended'
                login.save()
            return None
        if not Party.search([
                    ('id', '=', login.client.id),
                    ('active', '=', True),
                    ], count=True):
            return None
        # Refreshed at most once in REFRESH: a write on every page view
        # costs more than the rest of the session check (issue 7)
        if not Transaction().readonly and now - login.last_seen >= REFRESH:
            login.last_seen = now
            login.save()
        return login

    @classmethod
    def end(cls, logins):
        cls.write(logins, {'state': 'ended', 'session_hash': None})

    @property
    def csrf_token(self):
        "The CSRF token of the session's forms (derived from its hash)"
        return hmac.new(self.session_hash.encode('utf-8'),
            b'hb-client-page-csrf', 'sha256').hexdigest()
