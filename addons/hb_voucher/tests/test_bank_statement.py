# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Bank confirmation (issue 18 item 5): the bank's camt.054 and camt.053,
made here from the pain.001 the payment run produced, settle the paid
bills; a returned payment reopens its bill, is listed for finance with its
reason and is held from the payment runs until released; a reference the
bank names that is no payment changes nothing and is told."""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserWarning
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.exceptions import BankFileError

from .bank_tools import camt053, camt054, transfers
from .test_payment import run_tasks
from .test_settlement import SettlementMixin
from .tools import COMPANY_IBAN, create_wellbeing_area, load_finnish


class BankStatementTestCase(SettlementMixin, _DBTestCase):
    "Test the bank confirmation of the provider payments"
    module = 'hb_voucher'

    def pay(self, *parties):
        "Charge and bill each of parties once, run the payments"
        pool = Pool()
        Run = pool.get('hb.payment.run')
        for party in parties:
            self.charge(party)
        bills = self.bill()
        group = Run.pay_vendor_bills()
        message, = group.sepa_messages
        by_party = {p.party: p for p in group.payments}
        return bills, by_party, transfers(message.message)

    def import_camt054(self, xml):
        pool = Pool()
        Message = pool.get('account.payment.sepa.message')
        message = Message(type='in', message=xml,
            company=self.data['company'])
        message.save()
        Message.wait([message])
        Message.do([message])
        run_tasks()
        return message

    def transfer_of(self, transfers, payment):
        transfer, = [t for t in transfers
            if t['end_to_end_id'] == payment.sepa_end_to_end_id]
        return transfer

    @with_transaction()
    def test_camt054_succeeds_and_returns(self):
        """One camt.054 books two payments and returns one (AC04): two
        bills paid, the third open again and held with its reason until
        finance releases it"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Payment = pool.get('account.payment')
        Return = pool.get('hb.payment.return')
        Run = pool.get('hb.payment.run')
        with set_company(create_wellbeing_area()):
            load_finnish()
            a, b, c = self.setup(
                "Palvelu A Oy", "Palvelu B Oy", "Palvelu C Oy")
            bills, payments, sent = self.pay(a, b, c)
            self.assertEqual(len(sent), 3)
            returned_id = payments[c].sepa_end_to_end_id
            # the bank echoes the EndToEndId only (HB's "<id>-<bill>")
            xml = camt054(sent, returned={
                    returned_id: ('AC04', "Account closed")})
            self.assertNotIn(b'<InstrId>', xml)
            self.import_camt054(xml)

            for party in [a, b]:
                self.assertEqual(Payment(payments[party].id).state,
                    'succeeded')
                self.assertEqual(Invoice(bills[party].id).state, 'paid')
            payment_c = Payment(payments[c].id)
            self.assertEqual(payment_c.state, 'failed')
            self.assertEqual(payment_c.sepa_return_reason_code, 'AC04')
            self.assertEqual(Invoice(bills[c].id).state, 'posted')

            returned, = Return.search([])
            self.assertEqual(
                (returned.party, returned.invoice, returned.payment,
                    returned.amount, returned.reason_code, returned.reason,
                    returned.reason_information, returned.state),
                (c, bills[c], payment_c, Decimal('35.00'), 'AC04', 'AC04',
                    "Account closed", 'held'))
            self.assertEqual(returned.date, pool.get('ir.date').today())
            self.assertEqual(returned.reason_string, "AC04 Account closed")
            with Transaction().set_context(language='fi'):
                self.assertEqual(Return(returned.id).reason_string,
                    "AC04 Tili lopetettu")

            # held from the next runs until released
            self.assertIsNone(Run.pay_vendor_bills())
            run, = Run.search([], order=[('id', 'DESC')], limit=1)
            skip, = run.skipped
            self.assertEqual((skip.party, skip.reason, skip.amount),
                (c, 'returned', Decimal('35.00')))
            self.assertIsNone(Run.pay_vendor_bills())

            # released by a finance user (the provider's IBAN fixed)
            user = self.finance_user('finance')
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=True):
                Return.release([Return(returned.id)])
            returned = Return(returned.id)
            self.assertEqual(returned.state, 'released')
            self.assertEqual(returned.released_by, user)
            group = Run.pay_vendor_bills()
            self.assertEqual(
                {p.party: p.amount for p in group.payments},
                {c: Decimal('35.00')})
            self.assertEqual(Return(returned.id).state, 'paid')
            # paid by the bank this time
            message, = group.sepa_messages
            self.import_camt054(camt054(
                    transfers(message.message), message_id='HB-2'))
            self.assertEqual(Invoice(bills[c].id).state, 'paid')
            self.assertEqual(Return(returned.id).state, 'paid')
            self.assertEqual(len(Return.search([])), 1)

    @with_transaction()
    def test_release_finance_only(self):
        "Only finance sees and releases the returned payments"
        pool = Pool()
        Return = pool.get('hb.payment.return')
        User = pool.get('res.user')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            _, payments, sent = self.pay(a)
            self.import_camt054(camt054(sent, returned={
                        payments[a].sepa_end_to_end_id: ('AC01', '')}))
            returned, = Return.search([])
            self.assertEqual(returned.reason, 'AC01')
            self.assertIsNone(returned.reason_information)
            other, = User.create([{'name': 'other', 'login': 'other'}])
            with Transaction().set_user(other.id), \
                    Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Return.search([])
                with self.assertRaises(AccessError):
                    Return.release([Return(returned.id)])
            self.assertEqual(Return(returned.id).state, 'held')

    @with_transaction()
    def test_return_after_booking_reopens_bill(self):
        """A payment the bank booked (bill paid) and returns later (an
        unknown reason code, found by its InstrId): the bill is open
        again and the payment held"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Return = pool.get('hb.payment.return')
        Run = pool.get('hb.payment.run')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            bills, payments, sent = self.pay(a)
            self.import_camt054(camt054(sent, with_instr_id=True))
            self.assertEqual(Invoice(bills[a].id).state, 'paid')
            self.import_camt054(camt054(sent, with_instr_id=True,
                    message_id='HB-2', returned={
                        payments[a].sepa_end_to_end_id: (
                            'XX99', "Tuntematon syy")}))
            self.assertEqual(Invoice(bills[a].id).state, 'posted')
            returned, = Return.search([])
            self.assertEqual(
                (returned.reason_code, returned.reason, returned.state),
                ('XX99', 'other', 'held'))
            self.assertIsNone(Run.pay_vendor_bills())

    @with_transaction()
    def test_unknown_reference(self):
        """A camt.054 naming an EndToEndId of no payment changes nothing
        and says so; once confirmed, the known ones are booked"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Payment = pool.get('account.payment')
        Message = pool.get('account.payment.sepa.message')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            bills, payments, sent = self.pay(a)
            unknown = dict(sent[0], end_to_end_id='999999-HB9999')
            xml = camt054([unknown])
            message = Message(type='in', message=xml,
                company=self.data['company'])
            message.save()
            Message.wait([message])
            with self.assertRaises(UserWarning) as context:
                Message.do([message])
            self.assertIn('999999-HB9999', str(context.exception))
            self.assertEqual(Payment(payments[a].id).state, 'processing')
            self.assertEqual(Invoice(bills[a].id).state, 'posted')
            # with a known one: confirmed, the known one is booked
            message = Message(type='in', message=camt054(sent + [unknown]),
                company=self.data['company'])
            message.save()
            Message.wait([message])
            with Transaction().set_context(_skip_warnings=True):
                Message.do([message])
            run_tasks()
            self.assertEqual(Invoice(bills[a].id).state, 'paid')

    @with_transaction()
    def test_unreadable_file(self):
        """A bank's file that is not XML is refused with a translated error,
        as a camt.054 message and as a statement to import; nothing is
        recorded"""
        pool = Pool()
        Payment = pool.get('account.payment')
        Message = pool.get('account.payment.sepa.message')
        Statement = pool.get('account.statement')
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            bills, payments, sent = self.pay(a)
            self.statement_journal()
            broken = camt054(sent)[:-40]
            message = Message(type='in', message=broken,
                company=self.data['company'])
            message.save()
            Message.wait([message])
            with self.assertRaises(BankFileError) as context:
                Message.do([message])
            self.assertIn("not a valid XML file", str(context.exception))
            self.assertEqual(Message(message.id).state, 'waiting')
            self.assertEqual(Payment(payments[a].id).state, 'processing')
            with self.assertRaises(BankFileError):
                self.import_statement(b'<Document>' + broken[:100])
            self.assertEqual(Statement.search([]), [])

    def statement_journal(self):
        pool = Pool()
        Journal = pool.get('account.statement.journal')
        AccountJournal = pool.get('account.journal')
        BankNumber = pool.get('bank.account.number')
        account_journal, = AccountJournal.search(
            [('type', '=', 'statement')], limit=1)
        number, = BankNumber.search(
            [('number_compact', '=', COMPANY_IBAN.replace(' ', ''))])
        journal = Journal(name="Pankkitili", journal=account_journal,
            currency=self.data['company'].currency,
            company=self.data['company'], bank_account=number.account,
            account=self.data['cash'], validation='balance')
        journal.save()
        return journal

    def import_statement(self, xml):
        pool = Pool()
        Import = pool.get('account.statement.import', type='wizard')
        Statement = pool.get('account.statement')
        session_id, _, _ = Import.create()
        Import.execute(session_id, {
                'start': {
                    'company': self.data['company'].id,
                    'file_': xml,
                    'file_format': 'camt_053_001',
                    },
                }, 'import_')
        Import.delete(session_id)
        statement, = Statement.search([], order=[('id', 'DESC')], limit=1)
        return statement

    @with_transaction()
    def test_camt053_statement(self):
        """The imported camt.053 statement gets a line per HB payment on the
        clearing account; posted, it settles the booked bills and reopens
        the returned one (RtrInf reason on the payment, held)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Payment = pool.get('account.payment')
        Statement = pool.get('account.statement')
        Return = pool.get('hb.payment.return')
        Line = pool.get('account.move.line')
        with set_company(create_wellbeing_area()):
            a, b = self.setup("Palvelu A Oy", "Palvelu B Oy")
            self.statement_journal()
            bills, payments, sent = self.pay(a, b)
            returned_id = payments[b].sepa_end_to_end_id
            statement = self.import_statement(camt053(sent, returned={
                        returned_id: ('MD07', "Saaja kuollut")}))
            self.assertEqual(len(statement.origins), 3)
            self.assertEqual(len(statement.lines), 3)
            clearing = self.data['payment_journal'].clearing_account
            for line in statement.lines:
                self.assertEqual(line.account, clearing)
            # the booked ones related to their payment, the return not
            self.assertEqual(
                sorted((ln.amount, ln.related_to and ln.related_to.id or 0)
                    for ln in statement.lines),
                sorted([(Decimal('-35.00'), payments[a].id),
                        (Decimal('-35.00'), payments[b].id),
                        (Decimal('35.00'), 0)]))
            Statement.validate_statement([statement])
            Statement.post([statement])
            run_tasks()
            self.assertEqual(Statement(statement.id).state, 'posted')
            self.assertEqual(Payment(payments[a].id).state, 'succeeded')
            self.assertEqual(Invoice(bills[a].id).state, 'paid')
            payment_b = Payment(payments[b].id)
            self.assertEqual(payment_b.state, 'failed')
            self.assertEqual(payment_b.sepa_return_reason_code, 'MD07')
            self.assertEqual(Invoice(bills[b].id).state, 'posted')
            returned, = Return.search([])
            self.assertEqual(
                (returned.party, returned.reason, returned.state,
                    returned.reason_information),
                (b, 'MD07', 'held', "Saaja kuollut"))
            # the clearing account holds nothing of the day's payments
            lines = Line.search([('account', '=', clearing.id)])
            self.assertEqual(
                sum((ln.debit - ln.credit for ln in lines), Decimal(0)),
                Decimal(0))

    @with_transaction()
    def test_camt053_unknown_entry_left(self):
        "A statement entry that is no HB payment is left to finance"
        pool = Pool()
        with set_company(create_wellbeing_area()):
            a, = self.setup("Palvelu A Oy")
            self.statement_journal()
            _, payments, sent = self.pay(a)
            other = dict(sent[0], end_to_end_id='NOTPROVIDED',
                instr_id=None, amount=Decimal('12.50'))
            statement = self.import_statement(camt053(sent + [other],
                    date=pool.get('ir.date').today() - dt.timedelta(1)))
            self.assertEqual(len(statement.origins), 2)
            line, = statement.lines
            self.assertEqual(line.related_to, payments[a])


del _DBTestCase
