# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Settlement runs (issue 18 item 4): the payment days of the settings,
four eyes on the payment group, a suspended provider's bills held, the
references of the transfers and the recording of the file's sending."""
import calendar
import datetime as dt
from decimal import Decimal

from lxml import etree
from stdnum import iso11649
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_marketplace.tests.tools import no_email
from trytond.modules.hb_voucher.exceptions import BillingError
from trytond.modules.hb_voucher.settlement import (
    is_payment_day,
    parse_payment_days,
)

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    setup_hb,
)

MOBILE = '+358401234567'
YTUNNUS = '0204819-8'


class SettlementMixin:

    def setup(self, *names):
        """Settings posting the bills, one provider per name (each with a
        cleaning service at 35.00) and a client with a budget; return the
        providers' parties"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        data = setup_hb()
        self.data = data
        config = Configuration(1)
        config.hb_invoice_post = True
        config.save()
        self.applications = [
            create_provider_with_service(data, index=i, name=name)
            for i, name in enumerate(names)]
        client = create_client(data, MOBILE)
        create_budget(data, client, Decimal('1000.00'))
        self.keys = 0
        return [a.party for a in self.applications]

    def charge(self, party, quantity=1):
        "A confirmed charge of quantity hours of party's service"
        pool = Pool()
        Charge = pool.get('hb.charge')
        application, = [a for a in self.applications if a.party == party]
        self.keys += 1
        charge, _ = Charge.request(party, MOBILE, [
                (provider_product(application).id, quantity)],
            'k%d' % self.keys)
        return Charge.confirm(charge, last_code(MOBILE))

    def bill(self):
        pool = Pool()
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        return {b.party: b for b in Billing.bill_providers(
                end_date=Date.today())}

    def finance_user(self, login):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'name': login, 'login': login,
                    'groups': [('add', [ModelData.get_id(
                                    'hb_voucher', 'group_hb_finance')])],
                    'companies': [('add', [self.data['company'].id])],
                    'company': self.data['company'].id,
                    }])
        return user


class SettlementTestCase(SettlementMixin, _DBTestCase):
    "Test the settlement runs"
    module = 'hb_voucher'

    def test_payment_days(self):
        "The payment days: parsed, validated, a short month's last day"
        self.assertEqual(parse_payment_days(' 24, 1,8 16,'), [1, 8, 16, 24])
        self.assertEqual(parse_payment_days(''), [])
        for value in ['0', '32', '1,x']:
            with self.assertRaises(ValueError):
                parse_payment_days(value)
        days = [1, 8, 16, 31]
        self.assertTrue(is_payment_day(dt.date(2027, 2, 28), days))
        self.assertTrue(is_payment_day(dt.date(2028, 2, 29), days))
        self.assertFalse(is_payment_day(dt.date(2028, 2, 28), days))
        self.assertTrue(is_payment_day(dt.date(2027, 4, 30), days))
        self.assertTrue(is_payment_day(dt.date(2027, 3, 31), days))
        self.assertFalse(is_payment_day(dt.date(2027, 3, 30), days))
        self.assertTrue(is_payment_day(dt.date(2027, 3, 8), days))
        self.assertFalse(is_payment_day(dt.date(2027, 3, 9), days))

    @with_transaction()
    def test_payment_days_setting(self):
        "A day outside 1-31 is refused with a translated error"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        config = Configuration(1)
        config.hb_payment_days = '1,8,32'
        with self.assertRaises(BillingError) as context:
            config.save()
        self.assertIn('1,8,32', str(context.exception))
        config = Configuration(1)
        config.hb_payment_days = '1, 8, 16, 24'
        config.save()
        self.assertEqual(Configuration(1).hb_payment_days, '1, 8, 16, 24')

    @with_transaction()
    def test_scheduled_run(self):
        """The scheduled task pays on the payment days only (a short
        month: its last day), once a day"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Run = pool.get('hb.payment.run')
        Cron = pool.get('ir.cron')
        ModelData = pool.get('ir.model.data')
        cron = Cron(ModelData.get_id(
                'hb_voucher', 'cron_run_scheduled_payments'))
        self.assertEqual(cron.method, 'hb.payment.run|run_scheduled')
        self.assertEqual(cron.interval_type, 'days')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            config = Configuration(1)
            config.hb_payment_days = '1,8,16,31'
            config.save()
            self.charge(a)
            self.bill()
            year = pool.get('ir.date').today().year + 1
            # not a payment day
            self.assertIsNone(Run.run_scheduled(dt.date(year, 2, 2)))
            self.assertEqual(Run.search([]), [])
            self.assertIsNone(Configuration(1).hb_payment_last_run)
            # the 31st of February: its last day
            last = dt.date(year, 2, calendar.monthrange(year, 2)[1])
            group = Run.run_scheduled(last)
            self.assertEqual(
                [p.amount for p in group.payments], [Decimal('35.00')])
            run, = Run.search([])
            self.assertEqual(run.date, last)
            self.assertEqual(Configuration(1).hb_payment_last_run, last)
            # a second call the same day does nothing
            self.charge(a)
            self.bill()
            self.assertIsNone(Run.run_scheduled(last))
            self.assertEqual(len(Run.search([])), 1)
            # the next payment day pays the new bill
            group = Run.run_scheduled(dt.date(year, 3, 1))
            self.assertEqual(
                [p.amount for p in group.payments], [Decimal('35.00')])

    @with_transaction()
    def test_minimum_carried_to_next_scheduled_run(self):
        "A payment below the minimum is carried to the next payment day"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Run = pool.get('hb.payment.run')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            config = Configuration(1)
            config.hb_payment_days = '1,16'
            config.hb_minimum_payout = Decimal('50.00')
            config.save()
            self.charge(a)
            self.bill()
            year = pool.get('ir.date').today().year + 1
            self.assertIsNone(Run.run_scheduled(dt.date(year, 1, 1)))
            run, = Run.search([])
            skip, = run.skipped
            self.assertEqual(
                (skip.party, skip.reason, skip.amount),
                (a, 'below_minimum', Decimal('35.00')))
            self.charge(a)
            self.bill()
            group = Run.run_scheduled(dt.date(year, 1, 16))
            self.assertEqual(
                sorted(p.amount for p in group.payments),
                [Decimal('35.00'), Decimal('35.00')])

    @with_transaction()
    def test_four_eyes(self):
        """The group made by the run is approved by a second finance user
        before its file is released; who and when recorded"""
        pool = Pool()
        Run = pool.get('hb.payment.run')
        Group = pool.get('account.payment.group')
        Message = pool.get('account.payment.sepa.message')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            maker = self.finance_user('maker')
            checker = self.finance_user('checker')
            self.charge(a)
            self.bill()
            with Transaction().set_user(maker.id):
                group = Run.pay_vendor_bills()
            group = Group(group.id)
            self.assertTrue(group.hb_four_eyes)
            self.assertEqual(group.hb_made_by, maker)
            self.assertTrue(group.hb_made_at)
            self.assertIsNone(group.hb_approved_by)
            message, = group.sepa_messages
            # not released before the approval
            with self.assertRaises(BillingError):
                Message.do([message])
            self.assertEqual(Message(message.id).state, 'waiting')
            self.assertIsNone(Group(group.id).hb_sent_by)
            # the maker may not approve
            with Transaction().set_user(maker.id), \
                    Transaction().set_context(_check_access=True):
                with self.assertRaises(BillingError):
                    Group.hb_approve([Group(group.id)])
            self.assertIsNone(Group(group.id).hb_approved_by)
            # a user outside finance has no button
            User = pool.get('res.user')
            other, = User.create([{'name': 'other', 'login': 'other'}])
            with Transaction().set_user(other.id), \
                    Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Group.hb_approve([Group(group.id)])
            with Transaction().set_user(checker.id), \
                    Transaction().set_context(_check_access=True):
                Group.hb_approve([Group(group.id)])
            group = Group(group.id)
            self.assertEqual(group.hb_approved_by, checker)
            self.assertTrue(group.hb_approved_at >= group.hb_made_at)
            # the file's sending recorded
            with Transaction().set_user(checker.id), no_email():
                Message.do([Message(message.id)])
            self.assertEqual(Message(message.id).state, 'done')
            group = Group(group.id)
            self.assertEqual(group.hb_sent_by, checker)
            self.assertTrue(group.hb_sent_at >= group.hb_approved_at)

    @with_transaction()
    def test_suspended_provider_held(self):
        """The bills of a suspended provider are skipped "provider
        suspended" until its contract is active again or its payments are
        released"""
        pool = Pool()
        Run = pool.get('hb.payment.run')
        Contract = pool.get('hb.provider.contract')
        with set_company(create_wellbeing_area()):
            a, b = self.setup("Palvelu A Oy", "Palvelu B Oy")
            self.charge(a)
            self.charge(b)
            self.bill()
            contract = self.applications[0].contract
            with no_email():
                Contract.do_suspend([contract], "Valvontahavainto")
            group = Run.pay_vendor_bills()
            self.assertEqual(
                {p.party: p.amount for p in group.payments},
                {b: Decimal('35.00')})
            run, = Run.search([], order=[('id', 'DESC')], limit=1)
            skip, = run.skipped
            self.assertEqual(
                (skip.party, skip.reason, skip.amount),
                (a, 'suspended', Decimal('35.00')))
            # still held by the next run
            self.assertIsNone(Run.pay_vendor_bills())
            # released by finance: paid although suspended
            Contract.write([contract], {'hb_payments_released': True})
            group = Run.pay_vendor_bills()
            self.assertEqual(
                {p.party: p.amount for p in group.payments},
                {a: Decimal('35.00')})
            # a new suspension holds again; reactivation releases
            with no_email():
                Contract.activate([contract])
            self.charge(a)
            self.bill()
            with no_email():
                Contract.do_suspend([contract], "Uusi havainto")
            self.assertFalse(Contract(contract.id).hb_payments_released)
            self.assertIsNone(Run.pay_vendor_bills())
            with no_email():
                Contract.activate([contract])
            group = Run.pay_vendor_bills()
            self.assertEqual(
                {p.party: p.amount for p in group.payments},
                {a: Decimal('35.00')})

    @with_transaction()
    def test_references(self):
        """Each transfer carries the RF creditor reference of its bill and
        the bill number, an EndToEndId of the payment and the bill, the
        initiating party the wellbeing area's business ID"""
        pool = Pool()
        Run = pool.get('hb.payment.run')
        Payment = pool.get('account.payment')
        Identifier = pool.get('party.identifier')
        with set_company(create_wellbeing_area()):
            a, b = self.setup("Palvelu A Oy", "Palvelu B Oy")
            company = self.data['company']
            Identifier.create([{
                        'party': company.party.id,
                        'type': 'fi_ytunnus',
                        'code': YTUNNUS,
                        }])
            journal = self.data['payment_journal']
            journal.sepa_payable_initiator_id = 'fi_ytunnus'
            journal.save()
            self.charge(a)
            self.charge(b, 2)
            bills = self.bill()
            group = Run.pay_vendor_bills()
            message, = group.sepa_messages
            xml = etree.fromstring(bytes(message.message))
            ns = {'p': xml.nsmap[None]}
            self.assertEqual(xml.xpath(
                    '//p:GrpHdr/p:InitgPty/p:Id/p:OrgId/p:Othr/p:Id/text()',
                    namespaces=ns), [YTUNNUS])
            transfers = xml.xpath('//p:CdtTrfTxInf', namespaces=ns)
            self.assertEqual(len(transfers), 2)
            for transfer in transfers:
                end_to_end, = transfer.xpath(
                    'p:PmtId/p:EndToEndId/text()', namespaces=ns)
                ustrd, = transfer.xpath(
                    'p:RmtInf/p:Ustrd/text()', namespaces=ns)
                payment, = Payment.search(
                    [('sepa_end_to_end_id', '=', end_to_end)])
                self.assertEqual(payment.group, group)
                bill = bills[payment.party]
                number = ''.join(c for c in bill.number if c.isalnum())
                self.assertEqual(end_to_end, '%d-%s' % (payment.id, number))
                self.assertLessEqual(len(end_to_end), 35)
                self.assertEqual(payment.reference_type, 'creditor_reference')
                self.assertTrue(iso11649.is_valid(payment.reference))
                self.assertTrue(payment.reference.endswith(number.upper()))
                self.assertTrue(ustrd.startswith(
                        iso11649.format(payment.reference)), ustrd)
                self.assertIn(bill.number, ustrd)
                amount, = transfer.xpath(
                    'p:Amt/p:InstdAmt/text()', namespaces=ns)
                self.assertEqual(Decimal(amount), bill.total_amount)
            # the plain id still finds the payment (Tryton's own search)
            payment = group.payments[0]
            self.assertEqual(Payment.search(
                    [('sepa_end_to_end_id', '=', str(payment.id))]),
                [payment])
            self.assertEqual(Payment.search(
                    [('sepa_end_to_end_id', '=', '%d-X' % payment.id)]), [])


del _DBTestCase
