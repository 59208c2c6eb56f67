# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from decimal import Decimal

from trytond.model import fields
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.exceptions import ChargeError

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    load_finnish,
    provider_product,
    setup_hb,
)

MOBILE = '+358401234567'


class ChargeTestCase(_DBTestCase):
    "Test the charge flow"
    module = 'hb_voucher'

    def setup_world(self, amount=Decimal('500.00')):
        data = setup_hb()
        application = create_provider_with_service(data)
        client = create_client(data, MOBILE)
        budget = create_budget(data, client, amount)
        product = provider_product(application)
        return data, application, client, budget, product

    def request(self, application, product, quantity=2, key='k1',
            mobile=MOBILE):
        pool = Pool()
        Charge = pool.get('hb.charge')
        charge, _ = Charge.request(
            application.party, mobile, [(product.id, quantity)], key)
        return charge

    @with_transaction()
    def test_charge_flow(self):
        "Request, confirm with the code, post"
        pool = Pool()
        Charge = pool.get('hb.charge')
        BudgetLine = pool.get('hb.budget.line')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            charge = self.request(application, product)
            self.assertEqual(charge.state, 'requested')
            self.assertEqual(charge.amount, Decimal('70.00'))
            line, = budget.lines
            line = BudgetLine(line.id)
            self.assertEqual(line.reserved, Decimal('70.00'))
            code = last_code(MOBILE)
            self.assertTrue(code)
            self.assertNotIn(code, charge.code_hash)

            # Same key and request: same charge, nothing reserved again
            again, created = Charge.request(
                application.party, MOBILE, [(product.id, 2)], 'k1')
            self.assertEqual(again, charge)
            self.assertFalse(created)
            # Same key with another request: refused, nothing reserved
            with self.assertRaises(ChargeError) as cm:
                Charge.request(
                    application.party, MOBILE, [(product.id, 5)], 'k1')
            self.assertEqual(cm.exception.code, 'idempotency_key_reused')
            self.assertEqual(
                BudgetLine(line.id).reserved, Decimal('70.00'))

            charge = Charge.confirm(charge, code)
            self.assertEqual(charge.state, 'captured')
            # the sale follows in the posting batch
            self.assertIsNone(charge.sale)
            self.assertFalse(charge.posted)
            line = BudgetLine(line.id)
            self.assertEqual(line.reserved, Decimal('0.00'))
            self.assertEqual(line.spent, Decimal('70.00'))
            with self.assertRaises(ChargeError) as cm:
                Charge.confirm(charge, code)
            self.assertEqual(cm.exception.code, 'already_confirmed')

            sale, = Charge.post_sales()
            charge = Charge(charge.id)
            self.assertEqual(charge.sale, sale)
            self.assertEqual(sale.number, charge.number)
            self.assertTrue(charge.posted)
            move = charge.sale.move
            by_account = {ml.account: (ml.debit, ml.credit) for ml in move.lines}
            self.assertEqual(by_account[data['expense']],
                (Decimal('70.00'), Decimal('0')))
            self.assertEqual(by_account[data['clearing']],
                (Decimal('0'), Decimal('70.00')))
            expense_line, = [ml for ml in move.lines
                if ml.account == data['expense']]
            analytic, = expense_line.analytic_lines
            self.assertEqual(analytic.account, budget.analytic_account)
            self.assertEqual(analytic.debit, Decimal('70.00'))

    @with_transaction()
    def test_sms_language(self):
        "The code and the receipt are sent in the phone holder's language"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Message = pool.get('hb.sms.message')

        def last_text(mobile):
            message, = Message.search([('to', '=', mobile)],
                order=[('id', 'DESC')], limit=1)
            return message.text
        with set_company(create_wellbeing_area()):
            load_finnish()
            data, application, client, budget, product = self.setup_world()
            english = create_client(data, '+358401234999', individual=902,
                name="English Client", lang='en')
            create_budget(data, english)
            # No language: Finnish
            charge = self.request(application, product, key='fi-1')
            self.assertIn("Koodisi on", last_text(MOBILE))
            Charge.confirm(charge, last_code(MOBILE))
            self.assertNotIn("Koodisi on", last_text(MOBILE))
            self.assertIn(charge.number, last_text(MOBILE))
            charge = self.request(application, product, key='en-1',
                mobile='+358401234999')
            self.assertIn("Your code is", last_text('+358401234999'))

    @with_transaction()
    def test_capture_writes_no_sale(self):
        """A capture writes no sale of the sale point; the posting batch
        creates, processes and posts one per charge and refund through
        sale_point's API, once"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Sale = pool.get('sale.point.sale')
        SaleLine = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            charge = self.request(application, product, quantity='1.5')
            charge = Charge.confirm(charge, last_code(MOBILE))
            refund = Charge.make_refund(
                charge, Decimal('17.50'), "Half an hour not done")
            self.assertEqual(Sale.search([], count=True), 0)
            self.assertEqual(SaleLine.search([], count=True), 0)
            self.assertEqual(Payment.search([], count=True), 0)
            self.assertEqual(
                Charge.search([('posted', '=', False)]), [refund, charge])

            sales = Charge.post_sales()
            self.assertEqual(len(sales), 2)
            self.assertEqual(Charge.post_sales(), [])
            self.assertEqual(Sale.search([], count=True), 2)
            self.assertEqual(Charge.search([('posted', '=', True)]),
                [refund, charge])
            for record, quantity, price, amount in [
                    (Charge(charge.id), 1.5, Decimal('35.00'),
                        Decimal('52.50')),
                    (Charge(refund.id), -1.0, Decimal('17.50'),
                        Decimal('-17.50'))]:
                sale = record.sale
                self.assertEqual(sale.state, 'posted')
                self.assertEqual(sale.number, record.number)
                self.assertEqual(sale.point, record.sale_point)
                self.assertEqual(sale.date, record.date)
                self.assertEqual(sale.hb_client, client)
                self.assertEqual(sale.hb_budget, budget)
                line, = sale.lines
                self.assertEqual(line.product, product)
                self.assertEqual(line.quantity, quantity)
                self.assertEqual(line.unit_list_price, price)
                payment, = sale.payments
                self.assertTrue(payment.method.hb_budget)
                self.assertEqual(payment.amount, amount)
                self.assertEqual(sale.total, amount)
                self.assertEqual(sale.amount_to_pay, Decimal('0.00'))
                by_account = {ml.account: ml.debit - ml.credit
                    for ml in sale.move.lines}
                self.assertEqual(by_account, {
                        data['expense']: amount,
                        data['clearing']: -amount,
                        })
                self.assertEqual(sale.move.state, 'posted')

    @with_transaction()
    def test_request_rows_as_orm(self):
        """The rows a request inserts in SQL are those the ORM's save
        stores, and pass the ORM's validation"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Line = pool.get('hb.charge.line')

        def stored(Model, record):
            names = [n for n, f in Model._fields.items()
                if not isinstance(f, (fields.Function, fields.One2Many,
                        fields.Many2Many))
                and n not in {'id', 'create_date', 'write_uid',
                    'write_date', 'charge'}]
            values = Model.read([record.id], names)[0]
            del values['id']
            return values

        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            charge = self.request(application, product, quantity='1.5')
            charge = Charge(charge.id)
            Charge._validate([charge])
            Line._validate(list(charge.lines))
            values = stored(Charge, charge)
            self.assertEqual(values['state'], 'requested')
            self.assertEqual(values['attempts'], 0)
            lines = [stored(Line, line) for line in charge.lines]
            self.assertEqual(len(lines), 1)

            # the same charge saved through the ORM (another key)
            copy = dict(values, idempotency_key='orm-copy')
            del copy['create_uid']
            orm = Charge(**copy)
            orm.lines = [Line(**{k: v for k, v in line.items()
                        if k != 'create_uid'}) for line in lines]
            orm.save()
            self.assertEqual(stored(Charge, orm),
                dict(values, idempotency_key='orm-copy'))
            self.assertEqual(
                [stored(Line, line) for line in orm.lines], lines)

    @with_transaction()
    def test_currency_stored_and_filled_on_update(self):
        """A charge and its lines store their company's currency (not a
        Function field: trytond validated the amounts on every write);
        updating a database of before fills it from the company"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Line = pool.get('hb.charge.line')
        company = create_wellbeing_area()
        with set_company(company):
            data, application, client, budget, product = self.setup_world()
            charge = self.request(application, product)
            refund_of = self.request(application, product, key='k2')
            Charge.confirm(refund_of, last_code(MOBILE))
            refund = Charge.make_refund(refund_of, Decimal('10.00'), "Test")
            ids = [charge.id, refund_of.id, refund.id]
            self.assertEqual({c.currency for c in Charge.browse(ids)},
                {company.currency})
            self.assertEqual({line.currency for c in Charge.browse(ids)
                    for line in c.lines}, {company.currency})

            for Model in [Line, Charge]:
                Model.__table_handler__('hb_voucher').drop_column('currency')
            for Model in [Charge, Line]:
                Model.__register__('hb_voucher')
            cursor = Transaction().connection.cursor()
            for Model in [Charge, Line]:
                table = Model.__table__()
                cursor.execute(*table.select(table.currency,
                        group_by=[table.currency]))
                self.assertEqual(cursor.fetchall(),
                    [(company.currency.id,)], Model.__name__)

    @with_transaction()
    def test_expire_and_cancel_are_transitions(self):
        "Expiry and cancellation go through the workflow (logged)"
        pool = Pool()
        Charge = pool.get('hb.charge')
        BudgetLine = pool.get('hb.budget.line')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            expired = self.request(application, product, key='x1')
            cancelled = self.request(application, product, key='x2')
            Charge.write([expired], {
                    'expires_at': expired.expires_at.replace(year=2000)})
            self.assertEqual(Charge.expire_requests(), [expired])
            Charge.cancel(cancelled)
            self.assertEqual(
                BudgetLine(budget.lines[0].id).reserved, Decimal('0.00'))
            for record, state in [(expired, 'expired'),
                    (cancelled, 'cancelled')]:
                record = Charge(record.id)
                self.assertEqual(record.state, state)
                self.assertIsNone(record.code_hash)
                # (ir.model.log records are saved at commit)
                self.assertIn((str(record), 'transition', 'state:%s' % state),
                    [(str(log.resource), log.event, log.target)
                        for log in Transaction().log_records])
            self.assertTrue(Charge(cancelled.id).cancelled_at)

    @with_transaction()
    def test_sale_point_made_at_activation(self):
        """A charge never makes a sale point: a contract without one is
        refused until the scheduled task gives it one"""
        pool = Pool()
        POS = pool.get('sale.point')
        Contract = pool.get('hb.provider.contract')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            contract = product.template.hb_contract
            point, = contract.hb_sale_points
            POS.write([point], {'hb_contract': None})
            with self.assertRaises(ChargeError) as cm:
                self.request(application, product)
            self.assertEqual(cm.exception.code, 'not_configured')
            self.assertEqual(POS.search([], count=True), 1)

            new, = Contract.create_missing_sale_points()
            self.assertEqual(new.hb_contract, contract)
            self.assertEqual(Contract.create_missing_sale_points(), [])
            charge = self.request(application, product)
            self.assertEqual(charge.sale_point, new)

    @with_transaction()
    def test_refund_bill_pay_reconcile(self):
        "Refund part, bill once, post, pay by SEPA and reconcile"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Invoice = pool.get('account.invoice')
        BudgetLine = pool.get('hb.budget.line')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            charge = self.request(application, product, quantity=3)
            charge = Charge.confirm(charge, last_code(MOBILE))
            with self.assertRaises(ChargeError) as cm:
                Charge.make_refund(charge, Decimal('40.00'), '')
            self.assertEqual(cm.exception.code, 'reason_required')
            refund = Charge.make_refund(
                charge, Decimal('35.00'), "One hour was not done")
            self.assertEqual(refund.amount, Decimal('-35.00'))
            with self.assertRaises(ChargeError) as cm:
                Charge.make_refund(charge, Decimal('70.01'), "Too much")
            self.assertEqual(cm.exception.code, 'refund_amount')
            line = BudgetLine(budget.lines[0].id)
            self.assertEqual(line.spent, Decimal('70.00'))

            self.assertEqual(len(Charge.post_sales()), 2)
            self.assertEqual(Charge(refund.id).sale.total, Decimal('-35.00'))
            result = Charge.reconcile()
            self.assertEqual(result['not_posted'], Decimal('0.00'))
            self.assertTrue(result['checks']['spent'])

            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            invoices = Charge.bill_providers(end_date=charge.date)
            invoice, = invoices
            self.assertEqual(invoice.type, 'in')
            self.assertEqual(invoice.party, application.party)
            self.assertEqual(invoice.state, 'posted')
            self.assertEqual(invoice.total_amount, Decimal('70.00'))
            self.assertEqual(len(invoice.lines), 2)
            for line in invoice.lines:
                self.assertEqual(line.account, data['clearing'])
                self.assertNotIn(client.hb_hetu, line.description)
                self.assertNotIn(client.name, line.description)
            self.assertEqual(Charge.bill_providers(end_date=charge.date), [])
            self.assertEqual(Invoice.search([('hb_bill', '=', True)]),
                [invoice])

            result = Charge.reconcile()
            self.assertEqual(result['captured'], Decimal('105.00'))
            self.assertEqual(result['refunded'], Decimal('35.00'))
            self.assertEqual(result['billed'], Decimal('70.00'))
            self.assertEqual(result['unbilled'], Decimal('0.00'))
            self.assertEqual(result['clearing_balance'], Decimal('0.00'))
            self.assertEqual(result['checks'], {
                    'clearing': True, 'spent': True, 'analytic': True},
                result['mismatches'])

            group = Charge.pay_vendor_bills()
            payment, = group.payments
            self.assertEqual(payment.amount, Decimal('70.00'))
            self.assertEqual(payment.sepa_bank_account_number.number_compact,
                'FI2112345600000785')
            message, = group.sepa_messages
            xml = bytes(message.message).decode('utf-8')
            self.assertIn('pain.001.001.03', xml)
            self.assertIn('FI2112345600000785', xml)
            self.assertIn('<InstdAmt Ccy="EUR">70.00</InstdAmt>', xml)
            self.assertIsNone(Charge.pay_vendor_bills())


del _DBTestCase
