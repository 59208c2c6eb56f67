# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime as dt
import io
import zipfile
from decimal import Decimal

from trytond.model.exceptions import (
    AccessError,
    DomainValidationError,
    RequiredValidationError,
    SQLConstraintError,
)
from trytond.modules.company.tests import (
    CompanyTestMixin,
    create_company,
    set_company,
)
from trytond.modules.currency.tests import create_currency
from trytond.modules.party.exceptions import InvalidIdentifierCode
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.budget import forecast
from trytond.modules.hb_budget.decision import period_months
from trytond.modules.hb_budget.exceptions import (
    AccessLogError,
    AmountError,
    BudgetAmountError,
    BudgetInsufficientError,
    BudgetModificationError,
    BudgetPeriodError,
    BudgetStateError,
    DecisionAuthorityError,
    DecisionError,
    DecisionModificationError,
    DecisionTotalError,
    HetuError,
    MobileError,
    MunicipalityCodeError,
    PeriodError,
    PlanError,
    PlanModificationError,
)
from trytond.modules.hb_budget.party import HETU_MASK
from trytond.modules.hb_budget.tests.tools import (
    TranslationTestMixin,
    temporary_hetu,
    with_transaction,
)

TODAY = dt.date.today()
YEAR_START = TODAY.replace(month=1, day=1)
YEAR_END = TODAY.replace(month=12, day=31)


def group(xml_id):
    return Pool().get('ir.model.data').get_id('hb_budget', xml_id)


def create_user(login, groups, company):
    User = Pool().get('res.user')
    user, = User.create([{
                'name': login.title(),
                'login': login,
                'groups': [('add', [group(g) for g in groups])],
                'companies': [('add', [company.id])],
                'company': company.id,
                }])
    return user


class HbBudgetTestCase(
        CompanyTestMixin, TranslationTestMixin, ModuleTestCase):
    "Test HB Budget module"
    module = 'hb_budget'

    # Helpers building the whole path: client, plan, decision, budget

    def setup_hb(self):
        pool = Pool()
        Category = pool.get('hb.service.category')
        currency = create_currency('EUR')
        company = create_company(currency=currency)
        self.company = company
        self.worker = create_user('worker', ['group_hb_own_worker'], company)
        self.other_worker = create_user(
            'other', ['group_hb_own_worker'], company)
        self.supervisor = create_user(
            'supervisor', ['group_hb_supervisor'], company)
        self.manager = create_user(
            'manager', ['group_hb_service_manager'], company)
        self.dpo = create_user('dpo', ['group_hb_dpo'], company)
        self.cleaning, self.meals = Category.create([{
                    'name': "Cleaning", 'code': 'cleaning', 'unit': 'hour',
                    'price_cap': Decimal('45.00'),
                    }, {
                    'name': "Meals", 'code': 'meals', 'unit': 'piece',
                    }])
        return company

    def create_client(self, individual=900, worker=None, mobile=None):
        Party = Pool().get('party.party')
        client, = Party.create([{
                    'name': "Client %s" % individual,
                    'hb_client': True,
                    'hb_hetu': temporary_hetu(individual=individual),
                    'hb_own_worker': (worker or self.worker).id,
                    'hb_mobile': mobile,
                    }])
        return client

    def create_plan(self, client, agree=True):
        "A plan: 4 h cleaning × 40.00 + 20 meals × 10.00 = 360.00 a month"
        Plan = Pool().get('hb.plan')
        plan, = Plan.create([{
                    'company': self.company.id,
                    'client': client.id,
                    'valid_from': YEAR_START,
                    'valid_to': YEAR_END,
                    'needs': "Help at home",
                    'goals': "Live at home",
                    'services': [('create', [{
                                    'category': self.cleaning.id,
                                    'quantity': Decimal('4.00'),
                                    'unit_cost': Decimal('40.00'),
                                    }, {
                                    'category': self.meals.id,
                                    'quantity': Decimal('20.00'),
                                    'unit_cost': Decimal('10.00'),
                                    }])],
                    }])
        Criterion = Pool().get('hb.plan.criterion')
        criteria = list(plan.checklist)
        for criterion in criteria:
            criterion.answer = 'yes'
            criterion.note = "Assessed with the client"
        Criterion.save(criteria)
        if agree:
            Plan.agree([plan])
        return plan

    def create_decision(self, plan, start=YEAR_START, end=YEAR_END,
            fill=True):
        Decision = Pool().get('hb.decision')
        decision, = Decision.create([{
                    'company': self.company.id,
                    'client': plan.client.id,
                    'plan': plan.id,
                    'start_date': start,
                    'end_date': end,
                    'amount': Decimal('1.00'),
                    }])
        if fill:
            Decision.fill_lines([decision])
        return decision

    def approve(self, decision, user=None):
        Decision = Pool().get('hb.decision')
        if decision.state == 'draft':
            Decision.propose([decision])
        with Transaction().set_user((user or self.supervisor).id):
            Decision.approve([decision])
        return Decision(decision.id)

    def create_budget(self, individual=900):
        client = self.create_client(individual=individual)
        plan = self.create_plan(client)
        decision = self.approve(self.create_decision(plan))
        return decision.budget

    # Master data and settings

    @with_transaction()
    def test_configuration_defaults(self):
        "The settings singleton has sensible defaults"
        Configuration = Pool().get('hb.configuration')
        config = Configuration(1)
        self.assertEqual(config.default_period_months, 12)
        self.assertEqual(config.review_interval_months, 12)
        self.assertEqual(config.own_worker_limit, Decimal('5000.00'))
        self.assertEqual(config.team_min_members, 3)
        self.assertIn('30', config.get_letter_text('letter_rectification'))

    @with_transaction()
    def test_configuration_values(self):
        """The settings read by field (cached) follow a change at once,
        in the transaction that made it"""
        Configuration = Pool().get('hb.configuration')
        names = ['team_min_members', 'low_balance_percentage']
        self.assertEqual(Configuration.get_values(names), {
                'team_min_members': 3,
                'low_balance_percentage': Configuration(
                    1).low_balance_percentage})
        Configuration.write([Configuration(1)], {'team_min_members': 4})
        self.assertEqual(
            Configuration.get_values(names)['team_min_members'], 4)
        # a copy: changing it changes no cached value
        Configuration.get_values(names)['team_min_members'] = 9
        self.assertEqual(
            Configuration.get_values(names)['team_min_members'], 4)

    @with_transaction()
    def test_configuration_limits_order(self):
        "Delegation limits must grow with the authority"
        Configuration = Pool().get('hb.configuration')
        config = Configuration(1)
        config.supervisor_limit = Decimal('100.00')
        with self.assertRaises(DecisionError):
            config.save()

    @with_transaction()
    def test_municipality_code(self):
        "A municipality code is three digits and unique"
        Municipality = Pool().get('hb.municipality')
        kajaani, = Municipality.create([{'name': "Kajaani", 'code': '205'}])
        self.assertEqual(
            Municipality.search([('rec_name', '=', '205')]), [kajaani])
        with self.assertRaises(MunicipalityCodeError):
            Municipality.create([{'name': "Nowhere", 'code': '2x5'}])
        with self.assertRaises(SQLConstraintError):
            Municipality.create([{'name': "Kajaani 2", 'code': '205'}])

    @with_transaction()
    def test_service_category_price_cap(self):
        "The effective price cap is inherited from the parent"
        Category = Pool().get('hb.service.category')
        parent, = Category.create([{
                    'name': "Home help", 'code': 'home',
                    'price_cap': Decimal('45.00')}])
        child, = Category.create([{
                    'name': "Cleaning", 'code': 'clean', 'parent': parent.id}])
        self.assertEqual(child.get_price_cap(), Decimal('45.00'))
        self.assertEqual(child.rec_name, "Home help / Cleaning")
        with self.assertRaises(DomainValidationError):
            Category.create([{
                        'name': "Free", 'code': 'free',
                        'price_cap': Decimal('-1.00')}])

    # Clients

    @with_transaction()
    def test_client_hetu(self):
        "A temporary HETU is accepted, stored as identifier, and unique"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        company = self.setup_hb()
        with set_company(company):
            hetu = temporary_hetu(individual=901)
            client, = Party.create([{
                        'name': "Liisa", 'hb_client': True,
                        'hb_hetu': hetu.lower(),
                        }])
            self.assertEqual(client.hb_hetu, hetu)
            identifier, = [i for i in client.identifiers
                if i.type == 'fi_hetu']
            self.assertEqual(identifier.code, hetu)

            # an fi_hetu identifier accepts temporary codes
            identifier2, = Identifier.create([{
                        'party': client.id, 'type': 'fi_hetu',
                        'code': temporary_hetu(individual=999),
                        }])
            with self.assertRaises(InvalidIdentifierCode):
                Identifier.create([{
                            'party': client.id, 'type': 'fi_hetu',
                            'code': '010180-900X',
                            }])

            with self.assertRaises(HetuError):
                Party.create([{
                            'name': "Bad", 'hb_client': True,
                            'hb_hetu': '311380-9001',
                            }])
            self.assertEqual(Party.search([('hb_hetu', '=', hetu)]), [client])

            # changing the HETU changes the identifier
            new_hetu = temporary_hetu(individual=902)
            Party.write([client], {'hb_hetu': new_hetu})
            identifier = Identifier(identifier.id)
            self.assertEqual(identifier.code, new_hetu)

            with self.assertRaises(SQLConstraintError):
                Party.create([{
                            'name': "Twin", 'hb_client': True,
                            'hb_hetu': new_hetu,
                            }])

    @with_transaction()
    def test_client_hetu_required(self):
        "An HB client must have a HETU"
        Party = Pool().get('party.party')
        self.setup_hb()
        with self.assertRaises(Exception) as cm:
            Party.create([{'name': "No code", 'hb_client': True}])
        self.assertIn('Personal Identity Code', str(cm.exception))
        # an ordinary party needs none
        Party.create([{'name': "Provider"}])

    @with_transaction()
    def test_client_mobile(self):
        "The mobile is stored in E.164 and unique among clients"
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(901, mobile='040 123 4567')
            self.assertEqual(client.hb_mobile, '+358401234567')
            with self.assertRaises(MobileError):
                self.create_client(902, mobile='12')
            mother, = Party.create([{'name': "Mother"}])
            representative, = Representative.create([{
                        'client': client.id, 'party': mother.id,
                        'role': 'guardian', 'mobile': '0501234567',
                        'may_confirm_charges': True,
                        }])
            self.assertEqual(representative.mobile, '+358501234567')
            self.assertTrue(representative.may_view_balance)
            self.assertEqual(client.hb_representatives, (representative,))
            with self.assertRaises(SQLConstraintError):
                self.create_client(903, mobile='+358 40 1234567')

    @with_transaction()
    def test_client_hetu_hidden(self):
        "The HETU is shown only to the own-worker and HB administrators"
        pool = Pool()
        Party = pool.get('party.party')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(904)
            hetu = client.hb_hetu
            transaction = Transaction()
            for user, visible in [
                    (self.worker, True),
                    (self.supervisor, False),
                    ]:
                with transaction.set_user(user.id), \
                        transaction.set_context(_check_access=True):
                    value, = Party.read([client.id], ['hb_hetu'])
                    self.assertEqual(
                        value['hb_hetu'], hetu if visible else HETU_MASK)
                    found = Party.search([('hb_hetu', '=', hetu)])
                    self.assertEqual(found, [client] if visible else [])
                    found = Party.search([('rec_name', '=', hetu)])
                    self.assertEqual(found, [client] if visible else [])
                    identifiers = Party.read(
                        [client.id], ['identifiers.code'])[0]['identifiers.']
                    self.assertEqual(
                        [i['code'] for i in identifiers],
                        [hetu if visible else HETU_MASK])
            # another own-worker does not see the client at all
            with transaction.set_user(self.other_worker.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Party.read([client.id], ['hb_hetu'])
                self.assertEqual(Party.search([('hb_hetu', '=', hetu)]), [])
                self.assertEqual(Party.search([('hb_client', '=', True)]), [])
            # HB administrators (the admin user) see it
            with transaction.set_context(_check_access=True):
                value, = Party.read([client.id], ['hb_hetu'])
                self.assertEqual(value['hb_hetu'], hetu)
            # and another worker cannot overwrite it
            with transaction.set_user(self.other_worker.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Party.write([Party(client.id)], {
                            'hb_hetu': temporary_hetu(individual=905)})

    # Plans

    @with_transaction()
    def test_plan_checklist_and_versions(self):
        "A plan is agreed with a full checklist; versions supersede"
        pool = Pool()
        Plan = pool.get('hb.plan')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(906)
            plan = self.create_plan(client, agree=False)
            self.assertEqual(len(plan.checklist), 6)
            self.assertEqual(plan.monthly_cost, Decimal('360.00'))
            self.assertTrue(plan.eligible)

            first = plan.checklist[0]
            first.note = None
            first.save()
            with self.assertRaises(PlanError):
                Plan.agree([plan])
            self.assertEqual(Plan(plan.id).state, 'draft')
            first.note = "Over a year"
            first.save()

            Plan.agree([plan])
            self.assertEqual(plan.state, 'agreed')
            self.assertEqual(plan.agreed_date, TODAY)
            with self.assertRaises(PlanModificationError):
                Plan.write([plan], {'goals': "Other"})

            Plan.new_version([plan])
            new, = Plan.search([('previous', '=', plan.id)])
            self.assertEqual(new.version, 2)
            self.assertEqual(new.state, 'draft')
            self.assertEqual(len(new.services), 2)
            Plan.agree([new])
            self.assertEqual(Plan(plan.id).state, 'superseded')
            self.assertEqual(new.state, 'agreed')

            with self.assertRaises(PeriodError):
                Plan.create([{
                            'company': company.id, 'client': client.id,
                            'valid_from': YEAR_END, 'valid_to': YEAR_START,
                            }])

    # Decisions

    @with_transaction()
    def test_period_months(self):
        "The period length in months"
        self.assertEqual(
            period_months(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
            Decimal('12'))
        self.assertEqual(
            period_months(dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
            Decimal('6'))
        self.assertEqual(
            period_months(dt.date(2026, 3, 1), dt.date(2026, 3, 15)),
            Decimal('0.5'))
        self.assertIsNone(
            period_months(dt.date(2026, 3, 1), dt.date(2026, 2, 1)))

    @with_transaction()
    def test_decision_value_computation(self):
        "The value is quantity × unit cost × months of the period"
        pool = Pool()
        Decision = pool.get('hb.decision')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(907)
            plan = self.create_plan(client)
            decision = self.create_decision(plan)
            self.assertEqual(decision.months, Decimal('12.00'))
            self.assertEqual(decision.computed_amount, Decimal('4320.00'))
            self.assertEqual(decision.amount, Decimal('4320.00'))
            self.assertEqual(
                sorted((x.category.code, x.amount) for x in decision.lines),
                [('cleaning', Decimal('1920.00')),
                    ('meals', Decimal('2400.00'))])
            self.assertEqual(decision.yearly_amount, Decimal('4320.00'))
            self.assertEqual(decision.required_level, 'own_worker')

            half = self.create_decision(
                plan, start=YEAR_START,
                end=YEAR_START.replace(month=6, day=30))
            self.assertEqual(half.amount, Decimal('2160.00'))
            self.assertEqual(half.yearly_amount, Decimal('4320.00'))

            # a manual amount needs a justification
            values = {
                'value_method': 'manual',
                'amount': Decimal('5000.00'),
                'lines': [('write', [decision.lines[0].id], {
                            'amount': decision.lines[0].amount
                            + Decimal('680.00')})],
                }
            with self.assertRaises(RequiredValidationError):
                Decision.write([decision], values)
            values['justification'] = "Evening help is needed too"
            Decision.write([decision], values)
            Decision.propose([decision])
            self.assertEqual(decision.state, 'proposed')
            self.assertTrue(decision.number)

    @with_transaction()
    def test_decision_bad_input(self):
        "Bad decisions are refused with clear errors and change nothing"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Line = pool.get('hb.decision.line')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(908)
            plan = self.create_plan(client)
            decision = self.create_decision(plan)

            # lines not summing to the total
            Decision.write([decision], {'amount': Decimal('4000.00')})
            with self.assertRaises(DecisionTotalError):
                Decision.propose([decision])
            self.assertEqual(Decision(decision.id).state, 'draft')
            self.assertIsNone(Decision(decision.id).number)

            # with the cost method the total must be the computed cost
            Decision.write([decision], {
                    'amount': Decimal('4000.00'),
                    'lines': [('write', [decision.lines[0].id], {
                                'amount': decision.lines[0].amount
                                - Decimal('320.00')})],
                    })
            with self.assertRaises(DecisionError):
                Decision.propose([decision])

            # period end before start
            with self.assertRaises(PeriodError):
                Decision.write([decision], {
                        'start_date': YEAR_END, 'end_date': YEAR_START})
            # zero and negative amounts
            for amount in [Decimal('0.00'), Decimal('-10.00')]:
                with self.assertRaises(AmountError):
                    Decision.write([decision], {'amount': amount})
                with self.assertRaises(AmountError):
                    Line.write([decision.lines[0]], {'amount': amount})
            # a plan not agreed
            draft_plan = self.create_plan(client, agree=False)
            with self.assertRaises(DomainValidationError):
                self.create_decision(draft_plan)

    @with_transaction()
    def test_decision_delegation(self):
        "Who may approve follows the yearly-equivalent delegation limits"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Configuration = pool.get('hb.configuration')
        company = self.setup_hb()
        transaction = Transaction()
        with set_company(company):
            client = self.create_client(909)
            plan = self.create_plan(client)

            # own-worker level (4320.00 a year)
            decision = self.create_decision(
                plan, end=YEAR_START.replace(month=6, day=30))
            Decision.propose([decision])
            for user in [self.other_worker, self.dpo]:
                with transaction.set_user(user.id):
                    with self.assertRaises(DecisionAuthorityError):
                        Decision.approve([decision])
            self.assertEqual(Decision(decision.id).state, 'proposed')
            with transaction.set_user(self.worker.id):
                Decision.approve([decision])
            decision = Decision(decision.id)
            self.assertEqual(decision.state, 'approved')
            self.assertEqual(decision.approval_level, 'own_worker')
            self.assertEqual(decision.approved_by, self.worker)

            # supervisor level
            config = Configuration(1)
            config.own_worker_limit = Decimal('1000.00')
            config.save()
            second = self.create_decision(
                plan, start=YEAR_START.replace(month=7, day=1))
            self.assertEqual(second.required_level, 'supervisor')
            Decision.propose([second])
            with transaction.set_user(self.worker.id):
                with self.assertRaises(DecisionAuthorityError):
                    Decision.approve([second])
                with self.assertRaises(DecisionAuthorityError):
                    Decision.reject([second])
            config.supervisor_limit = Decimal('2000.00')
            config.save()
            self.assertEqual(second.required_level, 'service_manager')
            with transaction.set_user(self.supervisor.id):
                with self.assertRaises(DecisionAuthorityError):
                    Decision.approve([second])

            # multi-professional team above the service manager's limit
            config.service_manager_limit = Decimal('3000.00')
            config.save()
            self.assertEqual(second.required_level, 'team')
            with transaction.set_user(self.manager.id):
                with self.assertRaises(DecisionAuthorityError):
                    Decision.approve([second])
            Decision.write([second], {
                    'team_members': [('add', [
                                self.worker.id, self.supervisor.id,
                                self.manager.id])],
                    })
            with transaction.set_user(self.other_worker.id):
                with self.assertRaises(DecisionAuthorityError):
                    Decision.approve([second])
            with transaction.set_user(self.worker.id):
                Decision.approve([second])
            second = Decision(second.id)
            self.assertEqual(second.state, 'approved')
            self.assertEqual(second.approval_level, 'team')

    @with_transaction()
    def test_decision_approved_immutable_superseded(self):
        "An approved decision is only superseded, never edited"
        pool = Pool()
        Decision = pool.get('hb.decision')
        DecisionLine = pool.get('hb.decision.line')
        Line = pool.get('hb.budget.line')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(910)
            plan = self.create_plan(client)
            decision = self.approve(self.create_decision(plan))
            for values in [
                    {'amount': Decimal('9999.00')},
                    {'notes': "changed"},
                    {'end_date': YEAR_END - dt.timedelta(days=1)},
                    ]:
                with self.assertRaises(DecisionModificationError):
                    Decision.write([decision], values)
            with self.assertRaises(DecisionModificationError):
                DecisionLine.write(list(decision.lines), {
                        'amount': Decimal('1.00')})
            with self.assertRaises(DecisionModificationError):
                Decision.delete([decision])
            budget = decision.budget
            cleaning, = [x for x in budget.lines
                if x.category == self.cleaning]
            Line.reserve(cleaning, Decimal('100.00'))
            Line.capture(cleaning, Decimal('100.00'))

            # an overlapping new decision must supersede the approved one
            overlapping = self.create_decision(plan)
            with self.assertRaises(DecisionError):
                Decision.propose([overlapping])

            new = self.create_decision(plan)
            Decision.write([new], {
                    'supersedes': decision.id,
                    'value_method': 'manual',
                    'justification': "More meals",
                    'amount': Decimal('4800.00'),
                    'lines': [('write', [
                                x.id for x in new.lines
                                if x.category == self.meals], {
                                'amount': Decimal('2880.00')})],
                    })
            new = self.approve(new)
            decision = Decision(decision.id)
            self.assertEqual(decision.superseded_by, new)
            self.assertIsNone(decision.budget)
            self.assertEqual(new.budget, budget)
            budget = new.budget
            self.assertEqual(budget.amount, Decimal('4800.00'))
            self.assertEqual(budget.spent, Decimal('100.00'))
            self.assertEqual(budget.available, Decimal('4700.00'))

    # Budgets

    @with_transaction()
    def test_budget_created_on_approval(self):
        "Approval creates an active budget with its own analytic account"
        pool = Pool()
        Budget = pool.get('hb.budget')
        Account = pool.get('analytic_account.account')
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(911)
            self.assertEqual(budget.state, 'active')
            self.assertEqual(budget.amount, Decimal('4320.00'))
            self.assertEqual(budget.available, Decimal('4320.00'))
            self.assertEqual(budget.reserved, Decimal('0.00'))
            self.assertEqual(budget.currency, company.currency)
            self.assertEqual(len(budget.lines), 2)
            account = budget.analytic_account
            self.assertEqual(account.type, 'normal')
            self.assertEqual(account.root.code, 'HB')
            self.assertEqual(account.parent, account.root)
            self.assertEqual(account.company, company)

            other = self.create_budget(912)
            self.assertNotEqual(other.analytic_account, account)
            self.assertEqual(other.analytic_account.root, account.root)
            self.assertEqual(len(Account.search([('code', '=', 'HB')])), 1)

            self.assertEqual(
                Budget.get_active(budget.client, TODAY), budget)
            self.assertIsNone(
                Budget.get_active(budget.client, YEAR_END.replace(
                        year=YEAR_END.year + 1)))

    @with_transaction()
    def test_spending_arithmetic(self):
        "Reserve, capture, release and refund keep the figures right"
        pool = Pool()
        Line = pool.get('hb.budget.line')
        Move = pool.get('hb.budget.move')
        Spending = pool.get('hb.budget.spending')
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(913)
            line, = [x for x in budget.lines if x.category == self.cleaning]
            self.assertEqual(line.amount, Decimal('1920.00'))

            move = Line.reserve(line, Decimal('300.00'), origin='charge,1')
            self.assertEqual(move.kind, 'reserve')
            self.assertEqual(move.origin, 'charge,1')
            self.assertEqual(move.user.id, Transaction().user)
            line = Line(line.id)
            self.assertEqual(
                (line.reserved, line.spent, line.available),
                (Decimal('300.00'), Decimal('0.00'), Decimal('1620.00')))

            Line.capture(line, Decimal('250.00'), origin='charge,1')
            Line.release(line, Decimal('50.00'), origin='charge,1')
            line = Line(line.id)
            self.assertEqual(
                (line.reserved, line.spent, line.available),
                (Decimal('0.00'), Decimal('250.00'), Decimal('1670.00')))

            Line.refund(line, Decimal('100.00'), origin=line)
            line = Line(line.id)
            self.assertEqual(
                (line.reserved, line.spent, line.available),
                (Decimal('0.00'), Decimal('150.00'), Decimal('1770.00')))
            budget = line.budget
            self.assertEqual(budget.spent, Decimal('150.00'))
            self.assertEqual(budget.available, Decimal('4170.00'))

            moves = Move.search([('line', '=', line.id)], order=[('id', 'ASC')])
            self.assertEqual(
                [(m.kind, m.amount, m.reserved_after, m.spent_after)
                    for m in moves],
                [('reserve', Decimal('300.00'), Decimal('300.00'),
                        Decimal('0.00')),
                    ('capture', Decimal('250.00'), Decimal('50.00'),
                        Decimal('250.00')),
                    ('release', Decimal('50.00'), Decimal('0.00'),
                        Decimal('250.00')),
                    ('refund', Decimal('100.00'), Decimal('0.00'),
                        Decimal('150.00'))])
            self.assertEqual(moves[-1].origin, str(line))

            # the spending by category and month: captures less refunds
            spending, = Spending.search([('budget', '=', budget.id)])
            self.assertEqual(spending.category, self.cleaning)
            self.assertEqual(spending.month, TODAY.strftime('%Y-%m'))
            self.assertEqual(spending.amount, Decimal('150.00'))

            # the ledger is append-only, the figures change only by methods
            with self.assertRaises(BudgetModificationError):
                Move.write(moves, {'amount': Decimal('1.00')})
            with self.assertRaises(BudgetModificationError):
                Move.delete(moves)
            with self.assertRaises(BudgetModificationError):
                Line.write([line], {'spent': Decimal('0.00')})

    @with_transaction()
    def test_spending_refused(self):
        "Overspending, bad amounts, inactive budgets and dates are refused"
        pool = Pool()
        Budget = pool.get('hb.budget')
        Line = pool.get('hb.budget.line')
        Move = pool.get('hb.budget.move')
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(914)
            line, = [x for x in budget.lines if x.category == self.meals]
            Line.reserve(line, Decimal('2400.00'))
            Line.release(line, Decimal('400.00'))
            count = Move.search_count([])

            def check(figures=(Decimal('2000.00'), Decimal('0.00'))):
                current = Line(line.id)
                self.assertEqual((current.reserved, current.spent), figures)
                self.assertEqual(Move.search_count([]), count)

            with self.assertRaises(BudgetInsufficientError):
                Line.reserve(line, Decimal('400.01'))
            check()
            with self.assertRaises(BudgetInsufficientError):
                Line.capture(line, Decimal('2000.01'))
            check()
            with self.assertRaises(BudgetInsufficientError):
                Line.release(line, Decimal('2000.01'))
            check()
            with self.assertRaises(BudgetInsufficientError):
                Line.refund(line, Decimal('0.01'))
            check()
            for amount in [Decimal('0.00'), Decimal('-5.00'),
                    Decimal('0.001'), 1.5]:
                with self.assertRaises(BudgetAmountError):
                    Line.reserve(line, amount)
                check()
            with self.assertRaises(BudgetPeriodError):
                Line.reserve(line, Decimal('1.00'),
                    date=YEAR_END + dt.timedelta(days=1))
            check()

            Budget.suspend([budget])
            for method in [Line.reserve, Line.capture, Line.release]:
                with self.assertRaises(BudgetStateError):
                    method(line, Decimal('1.00'))
                check()
            Budget.resume([budget])
            Line.capture(line, Decimal('1.00'))
            count += 1
            figures = (Decimal('1999.00'), Decimal('1.00'))
            check(figures)

            Budget.close([budget])
            with self.assertRaises(BudgetStateError):
                Line.refund(line, Decimal('1.00'))

    @with_transaction()
    def test_budget_close_expired(self):
        "Budgets close after their period; holds are released"
        pool = Pool()
        Budget = pool.get('hb.budget')
        Line = pool.get('hb.budget.line')
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(915)
            line = budget.lines[0]
            Line.reserve(line, Decimal('100.00'))
            Line.capture(line, Decimal('60.00'))
            self.assertEqual(Budget.close_expired(), [])
            closed = Budget.close_expired(
                date=YEAR_END + dt.timedelta(days=1))
            self.assertEqual(closed, [budget])
            budget = Budget(budget.id)
            self.assertEqual(budget.state, 'closed')
            self.assertEqual(budget.unused_amount, Decimal('4260.00'))
            self.assertEqual(budget.reserved, Decimal('0.00'))
            self.assertEqual(budget.closed_date, TODAY)
            self.assertIsNone(Budget.get_active(budget.client, TODAY))

    @with_transaction()
    def test_forecast(self):
        "The burn-rate forecast"
        start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
        # 100.00 used in 10 days: 10.00 a day, 900.00 left: 90 more days
        rate, exhaustion, unused = forecast(
            Decimal('1000.00'), Decimal('0.00'), Decimal('100.00'),
            start, end, dt.date(2026, 1, 10))
        self.assertEqual(rate, Decimal('10'))
        self.assertEqual(exhaustion, dt.date(2026, 4, 10))
        self.assertEqual(unused, Decimal('0.00'))
        # slow pace: money left at period end
        # (181 days to 30 June, 184 days left)
        rate, exhaustion, unused = forecast(
            Decimal('3650.00'), Decimal('0.00'), Decimal('181.00'),
            start, end, dt.date(2026, 6, 30))
        self.assertEqual(rate, Decimal('1'))
        self.assertIsNone(exhaustion)
        self.assertEqual(unused, Decimal('3285.00'))
        # nothing used yet
        self.assertEqual(
            forecast(Decimal('10.00'), Decimal('0'), Decimal('0'),
                start, end, dt.date(2026, 2, 1)),
            (Decimal('0.00'), None, Decimal('10.00')))
        # before the period
        self.assertEqual(
            forecast(Decimal('10.00'), Decimal('0'), Decimal('0'),
                start, end, dt.date(2025, 2, 1)),
            (None, None, None))

    @with_transaction()
    def test_budget_line_forecast_fields(self):
        "Lines show the daily rate, the forecast and the low balance"
        pool = Pool()
        Line = pool.get('hb.budget.line')
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(916)
            line, = [x for x in budget.lines if x.category == self.meals]
            self.assertFalse(line.low_balance)
            self.assertEqual(line.forecast_unused, Decimal('2400.00'))
            Line.reserve(line, Decimal('2000.00'))
            line = Line(line.id)
            self.assertTrue(line.low_balance)
            self.assertTrue(budget.low_balance)
            self.assertGreater(line.daily_rate, 0)

    # Access control

    @with_transaction()
    def test_record_rules(self):
        "An own-worker sees only their own clients' records"
        pool = Pool()
        Budget = pool.get('hb.budget')
        Plan = pool.get('hb.plan')
        Decision = pool.get('hb.decision')
        Line = pool.get('hb.budget.line')
        company = self.setup_hb()
        transaction = Transaction()
        with set_company(company):
            mine = self.create_budget(917)
            client = self.create_client(918, worker=self.other_worker)
            plan = self.create_plan(client)
            theirs = self.approve(self.create_decision(plan)).budget
            for user, expected in [
                    (self.worker, [mine]),
                    (self.other_worker, [theirs]),
                    (self.supervisor, [mine, theirs]),
                    ]:
                with transaction.set_user(user.id), \
                        transaction.set_context(
                            _check_access=True, company=company.id,
                            companies=[company.id]):
                    self.assertEqual(
                        sorted(Budget.search([])), sorted(expected))
                    self.assertEqual(
                        sorted(b.client for b in Decision.search([])),
                        sorted(b.client for b in expected))
                    self.assertEqual(
                        sorted(p.client for p in Plan.search([])),
                        sorted(b.client for b in expected))
                    self.assertEqual(
                        {line.budget for line in Line.search([])},
                        set(expected))
            with transaction.set_user(self.worker.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Budget.read([theirs.id], ['state'])
                # the DPO has no access to budgets
            with transaction.set_user(self.dpo.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Budget.search([])

    @with_transaction()
    def test_access_log(self):
        "Reads of HB data through RPC are logged in one batch"
        pool = Pool()
        Budget = pool.get('hb.budget')
        Party = pool.get('party.party')
        Log = pool.get('hb.access.log')
        company = self.setup_hb()
        transaction = Transaction()
        with set_company(company):
            budgets = [self.create_budget(919), self.create_budget(920)]
            ids = [b.id for b in budgets]
            # internal reads are not logged
            Budget.read(ids, ['state'])
            self.assertEqual(Log.search([]), [])

            with transaction.set_user(self.supervisor.id), \
                    transaction.set_context(
                        _check_access=True, company=company.id,
                        companies=[company.id]):
                Budget.read(ids, ['state', 'available'])
                Party.read([budgets[0].client.id], ['name', 'hb_mobile'])
                # reading a party without HB fields is not logged
                Party.read([budgets[1].client.id], ['name'])

            logs = Log.search([], order=[('id', 'ASC')])
            self.assertEqual(
                [(x.user, x.model, x.record, x.client) for x in logs],
                [(self.supervisor, 'hb.budget', ids[0], budgets[0].client),
                    (self.supervisor, 'hb.budget', ids[1],
                        budgets[1].client),
                    (self.supervisor, 'party.party', budgets[0].client.id,
                        budgets[0].client)])
            self.assertEqual(logs[0].resource, budgets[0])

            # append-only, readable by the DPO only
            with self.assertRaises(AccessLogError):
                Log.write(logs, {'record': 1})
            with self.assertRaises(AccessLogError):
                Log.delete(logs)
            with transaction.set_user(self.dpo.id), \
                    transaction.set_context(_check_access=True):
                self.assertEqual(len(Log.search([])), 3)
            with transaction.set_user(self.supervisor.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Log.search([])

    @with_transaction()
    def test_decision_letter(self):
        "The decision letter renders in Finnish and English"
        pool = Pool()
        Letter = pool.get('hb.decision.letter', type='report')
        Lang = pool.get('ir.lang')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(921)
            decision = self.approve(self.create_decision(
                        self.create_plan(client)))
            en, = Lang.search([('code', '=', 'en')])
            self.assertEqual(decision.language, None)
            ext, content, _, name = Letter.execute([decision.id], {})
            self.assertEqual(ext, 'odt')
            with zipfile.ZipFile(io.BytesIO(content)) as odt:
                text = odt.read('content.xml').decode('utf-8')
            self.assertIn(decision.number, text)
            self.assertIn('4,320.00', text)
            self.assertIn('Cleaning', text)
            self.assertIn('30 days', text)
            self.assertIn('Personal Budget Decision', text)

del ModuleTestCase
