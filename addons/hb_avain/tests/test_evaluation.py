# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The evaluation report on a small fixed data set whose right answers
are stated here.

Pilot: 12 months from the first day of this month (S). Two carers convert
their days off for S .. S+3 months (3 months each):

- A (Kajaani): 2 days × €100 = €200/month on home help → €600
- B (Sotkamo): 3 days (round-the-clock) × €100 = €300/month:
  €200 home help + €100 meals → €900

Granted €1,500. Charges (provider P1 sells cleaning, a subcategory of home
help, €35/h; P2 sells meals €10 each):

- A: P1 2 h today (€70); €140 of home help captured in a month's time
  (straight on the budget line, as charges are captured today)
- B: P1 3 h today (€105), P2 5 meals today (€50), €10 of it refunded

Spent €355, unused €1,145; client-months 6, average €59.17.
By category: home help €315, meals €40. By provider: P1 2 charges €175,
P2 1 charge €40. By municipality: Kajaani 1 client €210, Sotkamo 1 client
€145.

Comparison clients C1 (Kajaani): S home help €250 + meals €50, S+1 home help
€250; C2 (Kuhmo): S escort €400 → 2 clients, €950, 3 client-months,
average €316.67.

Ratings by A (4) and B (5) → 4.50 from 2; a rating by a non-pilot client
is not counted. Two service gaps for the AVAIN group, one for another."""
import csv
import io
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.tests.tools import (
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    setup_hb,
)

from .tools import (
    approve,
    configure_pilot,
    create_carer,
    create_client,
    month_end,
    month_start,
)

MOBILE_A = '+358401110001'
MOBILE_B = '+358401110002'
MOBILE_X = '+358401110003'


class EvaluationTestCase(_DBTestCase):
    "Test the AVAIN evaluation report"
    module = 'hb_avain'

    def charge(self, application, product, mobile, quantity, date=None):
        pool = Pool()
        Charge = pool.get('hb.charge')
        charge, _ = Charge.request(
            application.party, mobile, [(product.id, quantity)],
            date=date)
        return Charge.confirm(charge, last_code(mobile))

    def create_data(self):
        pool = Pool()
        Date = pool.get('ir.date')
        Cost = pool.get('hb.avain.comparison.cost')
        Rating = pool.get('hb.service.rating')
        Gap = pool.get('hb.service.gap')
        Charge = pool.get('hb.charge')
        BudgetLine = pool.get('hb.budget.line')
        today = Date.today()
        data = setup_hb()
        start = month_start()
        end = month_end(start, 12)
        configure_pilot(data, start, end)
        period_end = month_end(start, 3)

        p1 = create_provider_with_service(data, 0,
            municipalities=('kajaani', 'sotkamo'),
            customer_groups=('avain', 'elderly'))
        p2 = create_provider_with_service(data, 1,
            services=[('Kotiateria', 'meals', Decimal('10.00'))],
            municipalities=('kajaani', 'sotkamo'))
        cleaning, meals = provider_product(p1), provider_product(p2)

        a, agreement_a = create_carer(
            data, 900, start, end, mobile=MOBILE_A)
        b, agreement_b = create_carer(
            data, 901, start, end, days_off=3, binding=True,
            municipality='sotkamo', mobile=MOBILE_B)
        decision_a, _ = agreement_a.convert_days(
            start, period_end, 2, {data['home_help']: Decimal('200.00')})
        decision_b, _ = agreement_b.convert_days(
            start, period_end, 3, {
                data['home_help']: Decimal('200.00'),
                data['meals']: Decimal('100.00'),
                })
        budget_a = approve(decision_a)
        approve(decision_b)

        # A client outside the pilot with a budget and a rating
        x = create_client(data, 902, groups=('elderly',), mobile=MOBILE_X)
        from trytond.modules.hb_voucher.tests.tools import create_budget
        create_budget(data, x, Decimal('300.00'), category='home_help')

        next_month = today + relativedelta(months=1)
        self.charge(p1, cleaning, MOBILE_A, 2)
        line_a, = budget_a.lines
        BudgetLine.reserve(line_a, Decimal('140.00'), date=next_month)
        BudgetLine.capture(line_a, Decimal('140.00'), date=next_month)
        self.charge(p1, cleaning, MOBILE_B, 3)
        meals_charge = self.charge(p2, meals, MOBILE_B, 5)
        Charge.make_refund(meals_charge, Decimal('10.00'), "One meal missed")
        self.charge(p1, cleaning, MOBILE_X, 1)

        c1 = create_client(data, 910, comparison=True)
        c2 = create_client(data, 911, municipality='kuhmo', comparison=True)
        Cost.create([{
                    'client': c1.id, 'month': start,
                    'category': data['home_help'].id,
                    'amount': Decimal('250.00'),
                    }, {
                    'client': c1.id, 'month': start,
                    'category': data['meals'].id,
                    'amount': Decimal('50.00'),
                    }, {
                    'client': c1.id, 'month': month_start(start, 1),
                    'category': data['home_help'].id,
                    'amount': Decimal('250.00'),
                    }, {
                    'client': c2.id, 'month': start,
                    'category': data['escort'].id,
                    'amount': Decimal('400.00'),
                    }, {
                    # Outside the period: not counted
                    'client': c2.id, 'month': month_start(start, 13),
                    'category': data['escort'].id,
                    'amount': Decimal('999.00'),
                    }])

        Rating.create([{
                    'client': a.id, 'service': cleaning.template.id,
                    'rating': 4,
                    }, {
                    'client': b.id, 'service': meals.template.id,
                    'rating': 5,
                    }, {
                    'client': x.id, 'service': cleaning.template.id,
                    'rating': 1,
                    }])
        Gap.create([{
                    'municipality': data['kajaani'].id,
                    'customer_group': data['avain'].id,
                    'category': data['escort'].id,
                    'source': 'client',
                    }, {
                    'municipality': data['sotkamo'].id,
                    'customer_group': data['avain'].id,
                    'source': 'catalogue',
                    }, {
                    'municipality': data['kajaani'].id,
                    'customer_group': data['elderly'].id,
                    'source': 'catalogue',
                    }])
        return data, start, end, p1, p2

    @with_transaction()
    def test_evaluation_figures(self):
        "The evaluation's figures on the fixed data set"
        pool = Pool()
        Summary = pool.get('hb.avain.evaluation.summary')
        Category = pool.get('hb.avain.evaluation.category')
        Provider = pool.get('hb.avain.evaluation.provider')
        Municipality = pool.get('hb.avain.evaluation.municipality')
        Month = pool.get('hb.avain.evaluation.month')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            data, start, end, p1, p2 = self.create_data()
            today = Date.today()

            with Transaction().set_context(start_date=start, end_date=end):
                hb, comparison = Summary.search([], order=[('id', 'ASC')])
                self.assertEqual(hb.group, 'hb')
                self.assertEqual(
                    (hb.start_date, hb.end_date), (start, end))
                self.assertTrue(hb.data_date)
                self.assertEqual(hb.clients, 2)
                self.assertEqual(hb.client_months, 6)
                self.assertEqual(hb.granted, Decimal('1500.00'))
                self.assertEqual(hb.spent, Decimal('355.00'))
                self.assertEqual(hb.unused, Decimal('1145.00'))
                self.assertEqual(hb.average, Decimal('59.17'))
                self.assertEqual(hb.rating, Decimal('4.50'))
                self.assertEqual(hb.rating_count, 2)
                self.assertEqual(hb.gaps, 2)

                self.assertEqual(comparison.group, 'comparison')
                self.assertEqual(comparison.clients, 2)
                self.assertEqual(comparison.client_months, 3)
                self.assertEqual(comparison.spent, Decimal('950.00'))
                self.assertEqual(comparison.average, Decimal('316.67'))

                self.assertEqual(
                    {(r.group, r.category.code, r.amount)
                        for r in Category.search([])},
                    {('hb', 'HOMEHELP', Decimal('315.00')),
                        ('hb', 'MEALS', Decimal('40.00')),
                        ('comparison', 'HOMEHELP', Decimal('500.00')),
                        ('comparison', 'MEALS', Decimal('50.00')),
                        ('comparison', 'ESCORT', Decimal('400.00'))})

                self.assertEqual(
                    {(r.provider, r.charges, r.amount, r.rating,
                            r.rating_count)
                        for r in Provider.search([])},
                    {(p1.party, 2, Decimal('175.00'), Decimal('4.00'), 1),
                        (p2.party, 1, Decimal('40.00'), Decimal('5.00'),
                            1)})

                self.assertEqual(
                    {(r.group, r.municipality.name, r.clients, r.amount)
                        for r in Municipality.search([])},
                    {('hb', 'Kajaani', 1, Decimal('210.00')),
                        ('hb', 'Sotkamo', 1, Decimal('145.00')),
                        ('comparison', 'Kajaani', 1, Decimal('550.00')),
                        ('comparison', 'Kuhmo', 1, Decimal('400.00'))})

                this_month = today.strftime('%Y-%m')
                next_month = (today + relativedelta(months=1)).strftime(
                    '%Y-%m')
                months = {(r.group, r.month): (r.clients, r.amount, r.average)
                    for r in Month.search([])}
                self.assertEqual(months[('hb', this_month)],
                    (2, Decimal('215.00'), Decimal('107.50')))
                self.assertEqual(months[('hb', next_month)],
                    (1, Decimal('140.00'), Decimal('140.00')))
                self.assertEqual(
                    months[('comparison', start.strftime('%Y-%m'))],
                    (2, Decimal('700.00'), Decimal('350.00')))

            # A shorter period: only this month's spending
            with Transaction().set_context(
                    start_date=start, end_date=month_end(start, 1)):
                hb, comparison = Summary.search([], order=[('id', 'ASC')])
                self.assertEqual(hb.spent, Decimal('215.00'))
                self.assertEqual(hb.client_months, 2)
                self.assertEqual(comparison.spent, Decimal('700.00'))

    @with_transaction()
    def test_evaluation_csv(self):
        "The CSV export names its period and data date and has the figures"
        pool = Pool()
        Report = pool.get('hb.avain.evaluation.csv', type='report')
        with set_company(create_wellbeing_area()):
            data, start, end, p1, p2 = self.create_data()
            ext, content, _, name = Report.execute([], {
                    'start_date': start.isoformat(),
                    'end_date': end.isoformat(),
                    })
            self.assertEqual(ext, 'csv')
            self.assertIn(start.isoformat(), name)
            rows = list(csv.reader(io.StringIO(content.decode('utf-8'))))
            self.assertEqual(rows[0], ['AVAIN pilot evaluation'])
            self.assertEqual(rows[1][1], start.isoformat())
            self.assertEqual(rows[2][1], end.isoformat())
            self.assertTrue(rows[3][1])
            header = rows[5]
            hb = dict(zip(header, rows[6]))
            comparison = dict(zip(header, rows[7]))
            self.assertEqual(hb['Clients'], '2')
            self.assertEqual(hb['Granted'], '1500.00')
            self.assertEqual(hb['Spent'], '355.00')
            self.assertEqual(hb['Unused'], '1145.00')
            self.assertEqual(hb['Average per Client per Month'], '59.17')
            self.assertEqual(comparison['Average per Client per Month'],
                '316.67')
            flat = [tuple(r) for r in rows]
            self.assertIn(
                ('HB Clients', p1.party.rec_name, '2', '175.00', '4.00',
                    '1'), flat)
            self.assertIn(('HB Clients', 'Sotkamo', '1', '145.00'), flat)


del _DBTestCase
