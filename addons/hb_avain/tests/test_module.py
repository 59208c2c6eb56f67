# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_avain.agreement import whole_months
from trytond.modules.hb_avain.exceptions import (
    ComparisonError,
    ConversionError,
    DaysOffError,
    MonthlyLimitError,
    PilotSettingsError,
)
from trytond.modules.hb_budget.tests.tools import (
    TranslationTestMixin,
    with_transaction,
)
from trytond.modules.hb_marketplace.tests.tools import (
    create_master_data,
    create_wellbeing_area,
)

from .tools import (
    approve,
    configure_pilot,
    create_agreement,
    create_carer,
    create_child,
    create_client,
    month_end,
    month_start,
)


class HbAvainTestCase(TranslationTestMixin, ModuleTestCase):
    "Test hb_avain module"
    module = 'hb_avain'

    def setup_pilot(self, carry_over=True):
        pool = Pool()
        Company = pool.get('company.company')
        data = create_master_data()
        data['company'] = Company(Transaction().context['company'])
        start = month_start()
        end = month_end(start, 12)
        configure_pilot(data, start, end, carry_over=carry_over)
        return data, start, end

    def count_decisions(self):
        return Pool().get('hb.decision').search([], count=True)

    @with_transaction()
    def test_settings_defaults_and_law(self):
        "Pilot settings: defaults, the law's minimum days off, day value"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        config = Configuration(1)
        self.assertEqual(config.avain_days_off, 2)
        self.assertEqual(config.avain_days_off_binding, 3)
        self.assertEqual(config.avain_day_value, Decimal('100.00'))
        self.assertTrue(config.avain_carry_over)
        Configuration.create([{}])
        for name, value in [
                ('avain_days_off', 1),
                ('avain_days_off_binding', 2),
                ('avain_day_value', Decimal('0.00')),
                ('avain_day_value', Decimal('-5.00')),
                ('avain_max_days_off', 2),
                ]:
            with self.subTest(name=name, value=value):
                config = Configuration(1)
                setattr(config, name, value)
                with self.assertRaises(PilotSettingsError):
                    config.save()

    @with_transaction()
    def test_settings_log(self):
        "Every change of the pilot settings is logged with who and when"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Log = pool.get('hb.avain.settings.log')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot()
            logs = Log.search([])
            self.assertEqual(
                {x.field.name for x in logs},
                {'avain_customer_group', 'avain_categories',
                    'avain_start_date', 'avain_end_date', 'avain_days_off',
                    'avain_days_off_binding', 'avain_max_days_off',
                    'avain_day_value', 'avain_carry_over'})

            config = Configuration(1)
            config.avain_day_value = Decimal('120.00')
            config.avain_carry_over = False
            config.default_period_months = 6  # not a pilot setting
            config.save()
            logs = Log.search([], order=[('id', 'DESC')], limit=2)
            changes = {x.field.name: (x.old_value, x.new_value)
                for x in logs}
            self.assertEqual(changes, {
                    'avain_day_value': ('100.00', '120.00'),
                    'avain_carry_over': ('1', '0'),
                    })
            for log in logs:
                self.assertEqual(log.user.id, Transaction().user)
                self.assertTrue(log.date)

            with self.assertRaises(PilotSettingsError):
                Log.delete(logs)

    @with_transaction()
    def test_settings_admin_only(self):
        "Only HB administrators may change the pilot settings"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'login': 'worker',
                    'groups': [('add', [ModelData.get_id(
                                    'hb_budget', 'group_hb_own_worker')])],
                    }])
        with Transaction().set_user(user.id), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(
                Configuration(1).avain_day_value, Decimal('100.00'))
            with self.assertRaises(AccessError):
                Configuration.write(
                    [Configuration(1)], {'avain_day_value': Decimal('1.00')})

    def test_whole_months(self):
        "Periods are whole calendar months"
        import datetime as dt
        date = dt.date
        self.assertEqual(whole_months(date(2018, 1, 1), date(2018, 12, 31)),
            12)
        self.assertEqual(whole_months(date(2018, 2, 1), date(2018, 2, 28)),
            1)
        self.assertEqual(whole_months(date(2018, 11, 1), date(2019, 4, 30)),
            6)
        self.assertIsNone(whole_months(date(2018, 1, 2), date(2018, 1, 31)))
        self.assertIsNone(whole_months(date(2018, 1, 1), date(2018, 1, 30)))
        self.assertIsNone(whole_months(date(2018, 2, 1), date(2018, 1, 31)))

    @with_transaction()
    def test_agreement_days_off_law(self):
        "An agreement's days off follow the law: at least 2, or 3 if binding"
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot()
            carer = create_client(data, 900)
            child = create_child(901)
            for days, binding in [(1, False), (2, True), (0, False),
                    (6, False), (6, True)]:
                with self.subTest(days=days, binding=binding):
                    with self.assertRaises(DaysOffError):
                        create_agreement(data, carer, child, start,
                            days_off=days, binding=binding)
            for days, binding in [(2, False), (3, False), (3, True),
                    (5, True)]:
                create_agreement(data, carer, child, start,
                    days_off=days, binding=binding)

    @with_transaction()
    def test_conversion_partial(self):
        "A partial exchange: 2 of 3 days × €100 × 6 months on 2 categories"
        pool = Pool()
        Decision = pool.get('hb.decision')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot()
            period_end = month_end(start, 6)
            carer, agreement = create_carer(
                data, 900, start, end, days_off=3, binding=True)
            decision, created = agreement.convert_days(
                start, period_end, 2, {
                    data['home_help']: Decimal('150.00'),
                    data['meals']: Decimal('50.00'),
                    })
            self.assertTrue(created)
            decision = Decision(decision.id)
            self.assertEqual(decision.state, 'proposed')
            self.assertTrue(decision.number)
            self.assertEqual(decision.client, carer)
            self.assertEqual(decision.amount, Decimal('1200.00'))
            self.assertEqual(decision.avain_days, 2)
            self.assertEqual(decision.avain_traditional_days, 1)
            self.assertEqual(decision.avain_months, 6)
            self.assertEqual(decision.avain_day_value, Decimal('100.00'))
            self.assertEqual(
                decision.avain_monthly_amount, Decimal('200.00'))
            self.assertTrue(decision.avain_carry_over)
            self.assertEqual(decision.value_method, 'manual')
            self.assertEqual(
                {(x.category, x.avain_monthly_amount, x.amount)
                    for x in decision.lines},
                {(data['home_help'], Decimal('150.00'), Decimal('900.00')),
                    (data['meals'], Decimal('50.00'), Decimal('300.00'))})
            for text in ['2', '3', '6', '200', '1', '200.00', '900.00']:
                self.assertIn(text, decision.justification)

            # Re-running proposes no duplicate
            again, created = agreement.convert_days(
                start, period_end, 2, {
                    data['home_help']: Decimal('150.00'),
                    data['meals']: Decimal('50.00'),
                    })
            self.assertFalse(created)
            self.assertEqual(again, decision)
            self.assertEqual(self.count_decisions(), 1)

            # An overlapping period is refused
            with self.assertRaises(ConversionError):
                agreement.convert_days(
                    month_start(start, 3), month_end(
                        month_start(start, 3), 3), 2,
                    {data['home_help']: Decimal('200.00')})

            budget = approve(decision)
            self.assertEqual(budget.amount, Decimal('1200.00'))

    @with_transaction()
    def test_conversion_full_and_letter(self):
        "All days exchanged; the calculation is in the decision letter"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Letter = pool.get('hb.decision.letter', type='report')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot()
            carer, agreement = create_carer(data, 900, start, end)
            decision, _ = agreement.convert_days(
                start, month_end(start, 3), 2,
                {data['home_help']: Decimal('200.00')})
            decision = Decision(decision.id)
            self.assertEqual(decision.amount, Decimal('600.00'))
            self.assertEqual(decision.avain_traditional_days, 0)
            approve(decision)
            try:
                _, content, _, _ = Letter.execute([decision.id], {})
            except Exception as exception:  # LibreOffice may be missing
                self.skipTest('letter not rendered: %s' % exception)
            import io
            import zipfile
            if isinstance(content, bytes) and content[:2] == b'PK':
                content = zipfile.ZipFile(io.BytesIO(content)).read(
                    'content.xml')
            self.assertIn(b'600', content)
            self.assertIn(b'AVAIN', content)

    @with_transaction()
    def test_conversion_bad_input(self):
        "Bad input: a clear error and nothing created"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot()
            carer, agreement = create_carer(data, 900, start, end)
            outsider, other = create_carer(
                data, 901, start, end, groups=('elderly',))
            period_end = month_end(start, 3)
            allocation = {data['home_help']: Decimal('200.00')}
            cases = [
                ("days outside the agreement's", DaysOffError,
                    agreement, start, period_end, 3, allocation),
                ("no day", DaysOffError,
                    agreement, start, period_end, 0, allocation),
                ("period outside the pilot", ConversionError,
                    agreement, month_start(start, -1), period_end, 2,
                    allocation),
                ("period after the pilot", ConversionError,
                    agreement, month_start(start, 10), month_end(
                        month_start(start, 10), 3), 2, allocation),
                ("not whole months", ConversionError,
                    agreement, start.replace(day=2), period_end, 2,
                    allocation),
                ("category not allowed", ConversionError,
                    agreement, start, period_end, 2,
                    {data['escort']: Decimal('200.00')}),
                ("part on a category not allowed", ConversionError,
                    agreement, start, period_end, 2,
                    {data['home_help']: Decimal('100.00'),
                        data['escort']: Decimal('100.00')}),
                ("allocation not the monthly value", ConversionError,
                    agreement, start, period_end, 2,
                    {data['home_help']: Decimal('150.00')}),
                ("client outside the pilot's group", ConversionError,
                    other, start, period_end, 2, allocation),
                ]
            for name, error, agr, s, e, days, alloc in cases:
                with self.subTest(name):
                    with self.assertRaises(error) as cm:
                        agr.convert_days(s, e, days, alloc)
                    self.assertTrue(str(cm.exception.message))
                    self.assertEqual(self.count_decisions(), 0)

            # A subcategory of an allowed category is allowed
            decision, _ = agreement.convert_days(
                start, period_end, 2, {data['cleaning']: Decimal('200.00')})
            self.assertEqual(self.count_decisions(), 1)

            config = Configuration(1)
            config.avain_day_value = Decimal('0.00')
            with self.assertRaises(PilotSettingsError):
                config.save()

    @with_transaction()
    def test_carry_over_on(self):
        "With carry-over, the value of the whole period is usable at once"
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot(carry_over=True)
            carer, agreement = create_carer(data, 900, start, end)
            decision, _ = agreement.convert_days(
                start, month_end(start, 3), 2,
                {data['home_help']: Decimal('200.00')})
            budget = approve(decision)
            line, = budget.lines
            self.assertIsNone(BudgetLine(line.id).avain_monthly_limit)
            BudgetLine.reserve(line, Decimal('500.00'), date=start)
            BudgetLine.capture(line, Decimal('500.00'), date=start)
            BudgetLine.reserve(line, Decimal('100.00'), date=start)
            line = BudgetLine(line.id)
            self.assertEqual(line.spent, Decimal('500.00'))
            self.assertEqual(line.available, Decimal('0.00'))

    @with_transaction()
    def test_carry_over_off(self):
        "Without carry-over, only the current month's value is usable"
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot(carry_over=False)
            carer, agreement = create_carer(data, 900, start, end)
            decision, _ = agreement.convert_days(
                start, month_end(start, 3), 2,
                {data['home_help']: Decimal('120.00'),
                    data['meals']: Decimal('80.00')})
            self.assertFalse(decision.avain_carry_over)
            self.assertIn('not carry over', decision.justification)
            budget = approve(decision)
            # The rule of the decision holds even if the setting changes
            config = Configuration(1)
            config.avain_carry_over = True
            config.save()
            line, = [x for x in budget.lines
                if x.category == data['home_help']]
            line = BudgetLine(line.id)
            self.assertEqual(line.amount, Decimal('360.00'))
            self.assertEqual(line.avain_monthly_limit, Decimal('120.00'))
            second = month_start(start, 1)

            BudgetLine.reserve(line, Decimal('100.00'), date=start)
            BudgetLine.capture(line, Decimal('100.00'), date=start)
            with self.assertRaises(MonthlyLimitError) as cm:
                BudgetLine.reserve(line, Decimal('30.00'), date=start)
            self.assertIn('120', cm.exception.message)
            BudgetLine.reserve(line, Decimal('20.00'), date=start)
            BudgetLine.release(line, Decimal('20.00'), date=start)
            BudgetLine.reserve(line, Decimal('20.00'), date=start)
            BudgetLine.capture(line, Decimal('20.00'), date=start)
            with self.assertRaises(MonthlyLimitError):
                BudgetLine.reserve(line, Decimal('0.01'), date=start)
            # A refund gives the month's value back
            BudgetLine.refund(line, Decimal('10.00'), date=start)
            BudgetLine.reserve(line, Decimal('10.00'), date=start)

            # The unused value of a month does not carry over
            with self.assertRaises(MonthlyLimitError):
                BudgetLine.reserve(line, Decimal('120.01'), date=second)
            BudgetLine.reserve(line, Decimal('120.00'), date=second)
            line = BudgetLine(line.id)
            self.assertEqual(line.spent, Decimal('110.00'))
            self.assertEqual(line.reserved, Decimal('130.00'))

    @with_transaction()
    def test_comparison_costs(self):
        "Comparison clients: in the pilot's group, without a budget"
        pool = Pool()
        Cost = pool.get('hb.avain.comparison.cost')
        with set_company(create_wellbeing_area()):
            data, start, end = self.setup_pilot()
            client = create_client(data, 910, comparison=True)
            cost, = Cost.create([{
                        'client': client.id,
                        'month': start.replace(day=15),
                        'category': data['home_help'].id,
                        'amount': Decimal('250.00'),
                        }])
            self.assertEqual(cost.month, start)
            self.assertEqual(cost.currency.code, 'EUR')

            outsider = create_client(
                data, 911, groups=('elderly',), comparison=True)
            with self.assertRaises(ComparisonError):
                Cost.create([{
                            'client': outsider.id,
                            'month': start,
                            'category': data['home_help'].id,
                            'amount': Decimal('250.00'),
                            }])
            with self.assertRaises(ComparisonError):
                Cost.create([{
                            'client': client.id,
                            'month': month_start(start, 1),
                            'category': data['home_help'].id,
                            'amount': Decimal('-1.00'),
                            }])

            carer, agreement = create_carer(data, 912, start, end)
            carer.avain_comparison = True
            carer.save()
            decision, _ = agreement.convert_days(
                start, month_end(start, 3), 2,
                {data['home_help']: Decimal('200.00')})
            approve(decision)
            with self.assertRaises(ComparisonError):
                Cost.create([{
                            'client': carer.id,
                            'month': month_start(start, 1),
                            'category': data['home_help'].id,
                            'amount': Decimal('100.00'),
                            }])


del ModuleTestCase
