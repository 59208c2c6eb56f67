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
import time

from trytond.config import config
from trytond.exceptions import RateLimitException
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hb_budget.party import normalize_mobile

from . import sms

CODE_DIGITS = 6
CODE_LIFETIME = dt.timedelta(minutes=10)
# the longest a queue task pads the answer to a code request (seconds)
MAX_PADDING = 5
CODE_ATTEMPTS = 3
# How often an active session's last activity is written
REFRESH = dt.timedelta(seconds=30)
STATES = [
    ('code_sent', "Code Sent"),
    ('active', "Active"),
    ('ended', "Ended"),
    ('failed', "Failed"),
    ]
METHODS = [
    ('sms', "Text Message Code"),
    ('suomifi', "Suomi.fi e-Identification"),
    ]


def _digest(value):
    return hashlib.sha256(value.encode('utf-8')).hexdigest()


def new_code():
    "Return a new one-time code and its salted hash (salt$digest)"
    code = ''.join(secrets.choice('0123456789') for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(8)
    return code, '%s$%s' % (salt, _digest('%s:%s' % (salt, code)))


def code_matches(code_hash, code):
    "Whether code is the one-time code of code_hash (of new_code)"
    if not code_hash or not isinstance(code, str):
        return False
    salt, _, digest = code_hash.partition('$')
    return hmac.compare_digest(
        _digest('%s:%s' % (salt, code.strip())), digest)


class ClientLogin(ModelSQL, ModelView):
    __name__ = 'hb.client.login'
    __string__ = "Client Page Login"

    mobile = fields.Char("Mobile", size=30, readonly=True,
        states={
            'required': Eval('method') == 'sms',
            })
    method = fields.Selection(METHODS, "Method", required=True,
        readonly=True)
    client = fields.Many2One(
        'party.party', "Client", readonly=True, ondelete='CASCADE',
        help="Empty when no one may log in with the number: the request "
        "is recorded for the limits, and no code is sent.")
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
    attempt_hash = fields.Char("Attempt Hash", size=200, readonly=True,
        help="The hash of the secret of the browser that asked the code: "
        "the code is good only there.")
    ip_network = fields.Char("IP Network", size=50, readonly=True,
        help="The network address the code was asked from.")
    saml_name_id = fields.Char("SAML Name ID", size=500, readonly=True)
    saml_session_index = fields.Char("SAML Session Index", size=500,
        readonly=True)
    loa = fields.Char("Level of Assurance", size=100, readonly=True,
        help="The level of assurance of a strong identification.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.session_hash, Index.Equality())),
                Index(t, (t.mobile, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.mobile, Index.Equality()),
                    (t.create_date, Index.Range())),
                Index(t, (t.ip_network, Index.Equality()),
                    (t.create_date, Index.Range())),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'code_sent'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def default_method(cls):
        return 'sms'

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
        # (the one setting, cached, not the whole settings record: it is
        # checked on every page view)
        minutes = Configuration.get_values(['hb_client_session_timeout'])[
            'hb_client_session_timeout'] or 15
        return dt.timedelta(minutes=minutes)

    @classmethod
    def identify(cls, mobile):
        """Return (client, representative) of the mobile number, or None
        when no one or more than one may log in with it"""
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        with without_check_access():
            # (a group that allows only strong identification excludes
            # the client in the same query: a known and an unknown number
            # run the same statements)
            clients = Party.search([
                    ('hb_client', '=', True),
                    ('hb_mobile', '=', mobile),
                    ('active', '=', True),
                    ('hb_customer_groups', 'not where', [
                            ('hb_sms_login', '=', False),
                            ]),
                    ], limit=2)
            representatives = Representative.search([
                    ('mobile', '=', mobile),
                    ('client.active', '=', True),
                    ('client.hb_customer_groups', 'not where', [
                            ('hb_sms_login', '=', False),
                            ]),
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
    def start_strong(cls, client, representative=None, name_id=None,
            session_index=None, loa=None):
        """Start the session of a person identified strongly (saml.py) as
        client, or as representative for client; return (login, key)"""
        key = secrets.token_urlsafe(32)
        login = cls(method='suomifi', client=client,
            representative=representative, state='active',
            session_hash=_digest(key), last_seen=cls._now(),
            saml_name_id=name_id, saml_session_index=session_index,
            loa=loa, ip_network=cls._remote_network())
        login.save()
        return login, key

    @classmethod
    def _remote_network(cls):
        "The network of the request's address (as [session] groups it)"
        _, network = Transaction().remote_address()
        return str(network) if network else None

    @classmethod
    def _attempt_hash(cls, attempt):
        "The hash binding a login attempt to the browser that made it"
        return _digest('hb-client-attempt:%s' % attempt) if attempt else None

    @classmethod
    def _attempt_key(cls, mobile):
        # Wrong codes are counted per number and network address: a
        # stranger's guesses lock the stranger, not the client
        return 'hb-client:%s@%s' % (mobile, cls._remote_network() or '')

    @classmethod
    def check_rate(cls, mobile):
        """Raise RateLimitException when the number had too many failed
        codes recently from the request's address (web_user's own counter,
        [session] max_attempt and max_attempt_ip_network)"""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        if Attempt.count(cls._attempt_key(mobile)) >= config.getint(
                'session', 'max_attempt', default=5):
            raise RateLimitException()
        if Attempt.count_ip() > config.getint(
                'session', 'max_attempt_ip_network', default=300):
            raise RateLimitException()

    @classmethod
    def check_send_rate(cls, number, configuration):
        """Raise RateLimitException when a code may not be sent to number
        now: too soon after the last one, too many for the number or from
        the request's address in the window. Known and unknown numbers
        are counted alike (each request is recorded)."""
        now = cls._now()
        since = now - dt.timedelta(
            minutes=configuration.hb_login_code_window)
        limit = configuration.hb_login_code_limit
        recent = cls.search_read([
                ('mobile', '=', number),
                ('create_date', '>=', since),
                ], order=[('create_date', 'DESC'), ('id', 'DESC')],
            limit=limit, fields_names=['create_date'])
        interval = dt.timedelta(
            seconds=configuration.hb_login_code_interval)
        if len(recent) >= limit or (recent and interval
                and recent[0]['create_date'] > now - interval):
            raise RateLimitException()
        network = cls._remote_network()
        if network and cls.search([
                    ('ip_network', '=', network),
                    ('create_date', '>=', since),
                    ], count=True) >= configuration.hb_login_ip_limit:
            raise RateLimitException()

    @classmethod
    def _pad_answer(cls, milliseconds):
        """Make the answer to the request take at least milliseconds from
        now (slept once the transaction is over and its locks released).
        Return a dictionary whose 'deadline' (a time.time()) may be taken
        over by setting it to None: then nothing is slept at the end of the
        transaction (deliver_codes sleeps after sending)."""
        padding = {'deadline': None}
        if not milliseconds:
            return padding
        padding['deadline'] = time.time() + milliseconds / 1000

        def wait():
            if padding['deadline'] is None:
                return
            remaining = padding['deadline'] - time.time()
            if remaining > 0:
                time.sleep(remaining)
        Transaction().atexit(wait)
        return padding

    @classmethod
    def send_code(cls, mobile, language='fi', attempt=None):
        """Send a one-time code to the mobile number if it may log in,
        good only for the login attempt attempt (a secret of the
        browser, e.g. its CSRF cookie).

        Return the normalised number, or None when it is not a valid
        mobile number. Raise RateLimitException when the limits of the
        settings refuse to send a code now.

        Whether the number is known is never told: an unknown number gets
        the same answer, the same limits, the same records written (a
        request whose code is never sent) and, padded to the settings'
        answer time, the same time."""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        number = normalize_mobile(mobile) if isinstance(mobile, str) else None
        if not number:
            return None
        # Requests for a number are counted one at a time (the table is
        # locked from the start of the transaction, which is restarted)
        cls.lock()
        configuration = Configuration(1)
        padding = cls._pad_answer(configuration.hb_login_answer_time)
        cls.check_send_rate(number, configuration)
        found = cls.identify(number)
        client, representative = found or (None, None)
        attempt_hash = cls._attempt_hash(attempt)
        # A new code replaces the pending one of the same attempt only:
        # someone else asking a code does not cancel the client's
        pending = cls.search([
                ('mobile', '=', number),
                ('state', '=', 'code_sent'),
                ('attempt_hash', '=', attempt_hash),
                ])
        if pending:
            cls.write(pending, {'state': 'failed'})
        code, code_hash = new_code()
        login = cls(mobile=number, client=client,
            representative=representative, code_hash=code_hash,
            code_expires=cls._now() + CODE_LIFETIME,
            attempt_hash=attempt_hash, ip_network=cls._remote_network())
        login.save()
        with Transaction().set_context(language=language):
            text = gettext('hb_voucher.msg_client_login_sms', code=code,
                minutes=int(CODE_LIFETIME.total_seconds() // 60))
        if client:
            sms.queue_sms(number, text)
        # Sent after commit by a task queued for a known number as for an
        # unknown one (which finds nothing to send): the same records
        # written, the same time (the task, which runs after the commit,
        # pads the answer when no worker runs it)
        answer_at, padding['deadline'] = padding['deadline'], None
        cls.__queue__.deliver_codes([login], answer_at)
        return number

    @classmethod
    def deliver_codes(cls, logins, answer_at=None):
        """Send the codes queued for the numbers of logins (a queue task),
        the same work for a number without code but the gateway's; then,
        once the task is over, wait until answer_at (a time.time(), at most
        MAX_PADDING seconds)"""
        pool = Pool()
        Message = pool.get('hb.sms.message')
        if answer_at is not None:
            def wait():
                remaining = min(answer_at - time.time(), MAX_PADDING)
                if remaining > 0:
                    time.sleep(remaining)
            Transaction().atexit(wait)
        numbers = list({login.mobile for login in logins})
        gateway = sms.get_gateway()
        Message.send(Message.search([
                    ('to', 'in', numbers),
                    ('state', '=', 'queued'),
                    ]), gateway=gateway)

    def check_code(self, code):
        return code_matches(self.code_hash, code)

    @classmethod
    def verify(cls, mobile, code, attempt=None):
        """Return (login, session key) when code is the pending code of
        the mobile number sent for the login attempt attempt, else
        (None, None) after counting the failure. Raise RateLimitException
        after too many failures of the number from the request's
        address."""
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
                ('attempt_hash', '=', cls._attempt_hash(attempt)),
                ], limit=1)
        login = logins[0] if logins else None
        if login and login.code_expires < now:
            login.state = 'failed'
            login.save()
            login = None
        # The code of an unknown number (never sent) is checked as well
        valid = bool(login) and login.check_code(code)
        if not valid or not login.client:
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
