# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime as dt
from decimal import Decimal

from sql.functions import CurrentTimestamp
from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, fields
from trytond.modules.company.model import (
    CompanyMultiValueMixin,
    CompanyValueMixin,
)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

ACCOUNT_FIELDS = [
    'hb_expense_account', 'hb_clearing_account', 'hb_payment_method',
    'hb_sale_journal', 'hb_invoice_journal', 'hb_payment_journal']


def expiry_delta(minutes):
    "How long a charge request waits for its code (the settings' minutes)"
    return dt.timedelta(minutes=minutes or 10)


def cancel_delta(minutes):
    "How long a provider may cancel a captured charge (the settings' minutes)"
    return dt.timedelta(minutes=60 if minutes is None else minutes)


class Configuration(CompanyMultiValueMixin, metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_charge_expiry = fields.Integer(
        "Charge Confirmation Time", required=True,
        domain=[('hb_charge_expiry', '>', 0)],
        help="Minutes the client has to confirm a charge; after that the "
        "request expires and its reservation is released.")
    hb_cancel_window = fields.Integer(
        "Provider Cancellation Window", required=True,
        domain=[('hb_cancel_window', '>=', 0)],
        help="Minutes after confirmation during which the provider may "
        "cancel a charge.")
    hb_code_attempts = fields.Integer(
        "Code Attempts", required=True,
        domain=[('hb_code_attempts', '>', 0)],
        help="Wrong one-time codes after which the request is cancelled.")
    hb_max_quantity = fields.Numeric(
        "Maximum Quantity", digits=(16, 2), required=True,
        domain=[('hb_max_quantity', '>', 0)],
        help="The largest quantity of one service in a charge.")
    hb_expense_account = fields.MultiValue(fields.Many2One(
            'account.account', "HB Service Expense Account",
            domain=[
                ('type.expense', '=', True),
                ('closed', '!=', True),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="Debited by posted charges, with the client's budget as "
            "analytic account."))
    hb_clearing_account = fields.MultiValue(fields.Many2One(
            'account.account', "HB Charges to Be Billed Account",
            domain=[
                ('type', '!=', None),
                ('type.statement', '=', 'balance'),
                ('type.debt', '=', True),
                ('closed', '!=', True),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="Credited by posted charges and debited by the vendor "
            "bills made from them."))
    hb_payment_method = fields.MultiValue(fields.Many2One(
            'sale.point.payment.method', "Personal Budget Payment Method",
            domain=[
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The point-of-sale payment method of personal budget "
            "charges (created on demand)."))
    hb_sale_journal = fields.MultiValue(fields.Many2One(
            'account.journal', "Sale Point Journal",
            domain=[('type', '=', 'revenue')],
            help="The journal of the providers' sale points."))
    hb_invoice_post = fields.Boolean(
        "Post Vendor Bills",
        help="Post the vendor bills made from charges at once.")
    hb_invoice_journal = fields.MultiValue(fields.Many2One(
            'account.journal', "Vendor Bill Journal",
            domain=[('type', '=', 'expense')],
            help="Empty: the default journal of supplier invoices."))
    hb_payment_journal = fields.MultiValue(fields.Many2One(
            'account.payment.journal', "Provider Payment Journal",
            domain=[
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The SEPA journal paying HB vendor bills."))
    hb_client_session_timeout = fields.Integer(
        "Client Session Timeout", required=True,
        domain=[('hb_client_session_timeout', '>', 0)],
        help="Minutes of inactivity after which a client page "
        "session ends.")
    hb_login_code_limit = fields.Integer(
        "Login Codes per Number", required=True,
        domain=[('hb_login_code_limit', '>', 0)],
        help="The most one-time codes of the client page login sent to "
        "one mobile number within the code window.")
    hb_login_code_window = fields.Integer(
        "Login Code Window", required=True,
        domain=[('hb_login_code_window', '>', 0)],
        help="Minutes over which the codes asked for a number or from a "
        "network address are counted.")
    hb_login_code_interval = fields.Integer(
        "Login Code Interval", required=True,
        domain=[('hb_login_code_interval', '>=', 0)],
        help="Seconds to wait before another code is sent to the same "
        "mobile number.")
    hb_login_ip_limit = fields.Integer(
        "Login Codes per Address", required=True,
        domain=[('hb_login_ip_limit', '>', 0)],
        help="The most login codes asked from one network address within "
        "the code window, for any numbers.")
    hb_login_answer_time = fields.Integer(
        "Login Code Answer Time", required=True,
        domain=[('hb_login_answer_time', '>=', 0)],
        help="Milliseconds the answer to a code request takes at least, "
        "so that a known and an unknown number cannot be told apart by "
        "the time the SMS takes to send. 0: no padding.")
    hb_charge_code_limit = fields.Integer(
        "Unconfirmed Charges per Number", required=True,
        domain=[('hb_charge_code_limit', '>', 0)],
        help="The most charge requests (each sending a code by SMS) left "
        "unconfirmed for one mobile number within the charge code window; "
        "further requests are refused.")
    hb_charge_code_window = fields.Integer(
        "Charge Code Window", required=True,
        domain=[('hb_charge_code_window', '>', 0)],
        help="Minutes over which unconfirmed charge requests are counted.")

    @classmethod
    def default_hb_charge_expiry(cls):
        return 10

    @classmethod
    def default_hb_cancel_window(cls):
        return 60

    @classmethod
    def default_hb_code_attempts(cls):
        return 3

    @classmethod
    def default_hb_max_quantity(cls):
        return Decimal('100.00')

    @classmethod
    def default_hb_invoice_post(cls):
        return False

    @classmethod
    def default_hb_client_session_timeout(cls):
        return 15

    @classmethod
    def default_hb_login_code_limit(cls):
        return 5

    @classmethod
    def default_hb_login_code_window(cls):
        return 15

    @classmethod
    def default_hb_login_code_interval(cls):
        return 30

    @classmethod
    def default_hb_login_ip_limit(cls):
        return 20

    @classmethod
    def default_hb_login_answer_time(cls):
        return 200

    @classmethod
    def default_hb_charge_code_limit(cls):
        return 5

    @classmethod
    def default_hb_charge_code_window(cls):
        return 15

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in ACCOUNT_FIELDS:
            return pool.get('hb.configuration.account')
        return super().multivalue_model(field)

    @classmethod
    def default_hb_sale_journal(cls, **pattern):
        return cls.multivalue_model(
            'hb_sale_journal').default_hb_sale_journal()

    def get_hb_expiry_delta(self):
        return expiry_delta(self.hb_charge_expiry)

    def get_hb_cancel_delta(self):
        return cancel_delta(self.hb_cancel_window)

    def get_hb_payment_method(self):
        """Return the "Personal budget" payment method of the company,
        created on demand with the HB service expense account"""
        pool = Pool()
        Method = pool.get('sale.point.payment.method')
        if self.hb_payment_method:
            return self.hb_payment_method
        company = Transaction().context.get('company')
        if not (company and self.hb_expense_account):
            return None
        methods = Method.search([
                ('company', '=', company),
                ('hb_budget', '=', True),
                ], limit=1)
        if methods:
            method, = methods
        else:
            method = Method(
                company=company, cash=False,
                name=gettext('hb_voucher.msg_payment_method_name'),
                hb_budget=True, account=self.hb_expense_account)
            method.save()
        self.hb_payment_method = method
        self.save()
        return method


class ConfigurationAccount(ModelSQL, CompanyValueMixin):
    "The accounts, journals and payment method of a company's settings"
    __name__ = 'hb.configuration.account'
    __string__ = "Personal Budget Settings Accounts"

    configuration = fields.Many2One(
        'hb.configuration', "Settings", required=True, ondelete='CASCADE')
    hb_expense_account = fields.Many2One(
        'account.account', "HB Service Expense Account",
        domain=[
            ('type.expense', '=', True),
            ('closed', '!=', True),
            ('company', '=', Eval('company', -1)),
            ],
        help="Debited by posted charges, with the client's budget as "
        "analytic account.")
    hb_clearing_account = fields.Many2One(
        'account.account', "HB Charges to Be Billed Account",
        domain=[
            ('type', '!=', None),
            ('type.statement', '=', 'balance'),
            ('type.debt', '=', True),
            ('closed', '!=', True),
            ('company', '=', Eval('company', -1)),
            ],
        help="Credited by posted charges and debited by the vendor bills "
        "made from them.")
    hb_payment_method = fields.Many2One(
        'sale.point.payment.method', "Personal Budget Payment Method",
        domain=[('company', '=', Eval('company', -1))],
        help="The point-of-sale payment method of personal budget "
        "charges (created on demand).")
    hb_sale_journal = fields.Many2One(
        'account.journal', "Sale Point Journal",
        domain=[('type', '=', 'revenue')],
        help="The journal of the providers' sale points.")
    hb_invoice_journal = fields.Many2One(
        'account.journal', "Vendor Bill Journal",
        domain=[('type', '=', 'expense')],
        help="Empty: the default journal of supplier invoices.")
    hb_payment_journal = fields.Many2One(
        'account.payment.journal', "Provider Payment Journal",
        domain=[('company', '=', Eval('company', -1))],
        help="The SEPA journal paying HB vendor bills.")

    @classmethod
    def __register__(cls, module):
        exist = backend.TableHandler.table_exist(cls._table)
        super().__register__(module)
        if not exist:
            cls._migrate_settings()

    @classmethod
    def _migrate_settings(cls):
        """Move the values of the settings' own columns (before they were
        per company) to the company of their accounts"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Account = pool.get('account.account')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        handler = backend.TableHandler(Configuration)
        columns = [f for f in ACCOUNT_FIELDS if handler.column_exist(f)]
        if not columns:
            return
        configuration = Configuration.__table__()
        cursor.execute(*configuration.select(configuration.id,
                *[getattr(configuration, c) for c in columns]))
        rows = cursor.fetchall()
        account = Account.__table__()
        table = cls.__table__()
        for row in rows:
            values = dict(zip(columns, row[1:]))
            if not any(values.values()):
                continue
            company = None
            for name in ['hb_clearing_account', 'hb_expense_account']:
                if values.get(name):
                    cursor.execute(*account.select(account.company,
                            where=account.id == values[name]))
                    company, = cursor.fetchone()
                    break
            names = ['create_uid', 'create_date', 'configuration',
                'company'] + list(values)
            cursor.execute(*table.insert(
                    [getattr(table, n) for n in names],
                    [[transaction.user, CurrentTimestamp(), row[0], company]
                        + list(values.values())]))

    @classmethod
    def default_hb_sale_journal(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('account', 'journal_revenue')
        except KeyError:
            return None
