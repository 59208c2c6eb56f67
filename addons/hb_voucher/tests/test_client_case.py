# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's case page at /<db>/hb/client/case (issue 13, Omasote):
the plan, the decisions and their letters (only the client's own), and
the requests to the own-worker: a message, a move between the decided
service categories (within the limit applied at once as an amendment
decision, above it a request in the inbox), a review, a rectification
request; the rights of representatives, CSRF, bad input and the daily
limit."""
import datetime as dt
import re
from decimal import Decimal
from unittest import mock

from trytond.exceptions import UserError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.plan import CRITERIA
from trytond.modules.hb_budget.tests.pdf_tools import (
    letter_extension,
    pdf_text,
)

from .. import client_case
from .tools import (
    create_client,
    create_wellbeing_area,
    last_code,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358403333441'
MOBILE_OTHER = '+358403333442'
MOBILE_MOVER = '+358403333443'
MOBILE_HELPER = '+358403333444'
MOBILE_VIEWER = '+358403333445'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def create_budget_lines(data, client, amounts):
    """Agree a plan and approve a decision giving client the amounts of
    amounts ({category name: amount}); return the decision"""
    pool = Pool()
    Date = pool.get('ir.date')
    Plan = pool.get('hb.plan')
    Decision = pool.get('hb.decision')
    start = Date.today().replace(day=1)
    end = (start + dt.timedelta(days=400)).replace(day=1) - (
        dt.timedelta(days=1))
    plan, = Plan.create([{
                'company': data['company'].id,
                'client': client.id,
                'valid_from': start,
                'valid_to': end,
                'next_review': end,
                'needs': "Help at home",
                'goals': "Living at home",
                'services': [('create', [{
                                'category': data[name].id,
                                'quantity': Decimal('2.00'),
                                'unit_cost': Decimal('40.00'),
                                'description': "Agreed %s" % name,
                                } for name in amounts])],
                'checklist': [('create', [{
                                'criterion': c, 'answer': 'yes',
                                'note': "Assessed with the client",
                                } for c, _ in CRITERIA])],
                }])
    Plan.agree([plan])
    total = sum(amounts.values(), Decimal(0))
    decision, = Decision.create([{
                'company': data['company'].id,
                'client': client.id,
                'plan': plan.id,
                'start_date': start,
                'end_date': end,
                'value_method': 'manual',
                'justification': "Agreed with the client",
                'amount': total,
                'sending_method': 'post',
                'lines': [('create', [{
                                'category': data[name].id,
                                'amount': amount,
                                } for name, amount in amounts.items()])],
                }])
    with Transaction().set_user(0):
        Decision.propose([decision])
        Decision.approve([decision])
        Decision.send([decision])
    return decision


class ClientCasePageTestCase(RouteTestCase):
    "The client's case page"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            client = create_client(data, MOBILE, name="Liisa Asiakas")
            other = create_client(data, MOBILE_OTHER, individual=902,
                name="Toinen Asiakas")
            mover = create_client(data, MOBILE_MOVER, individual=903,
                name="Siirtäjä Asiakas")
            amounts = {
                'home_help': Decimal('300.00'),
                'meals': Decimal('200.00'),
                }
            cls.decision_id = create_budget_lines(data, client, amounts).id
            cls.other_decision_id = create_budget_lines(
                data, other, {'home_help': Decimal('100.00')}).id
            cls.mover_decision_id = create_budget_lines(
                data, mover, amounts).id
            cls.home_help_id = data['home_help'].id
            cls.meals_id = data['meals'].id
            cls.escort_id = data['escort'].id
            helper, viewer = Party.create([
                    {'name': "Auttaja Sukulainen"},
                    {'name': "Katsoja Sukulainen"}])
            Representative.create([{
                        'client': client.id, 'party': helper.id,
                        'role': 'relative', 'mobile': MOBILE_HELPER,
                        'may_view_balance': True,
                        'may_make_requests': True,
                        }, {
                        'client': client.id, 'party': viewer.id,
                        'role': 'relative', 'mobile': MOBILE_VIEWER,
                        'may_view_balance': True,
                        'may_make_requests': False,
                        }])
            cls.client_id = client.id
            cls.mover_id = mover.id
            Configuration.write([Configuration(1)], {
                    'hb_login_code_interval': 0,
                    'hb_login_code_limit': 1000,
                    'hb_login_ip_limit': 1000,
                    'hb_login_answer_time': 0,
                    'hb_client_move_limit': Decimal('100.00'),
                    })
            # moves within the limit are decided in the name of an
            # official with a delegation (Hallintolaki 53 e §)
            User = pool.get('res.user')
            Delegation = pool.get('hb.decision.delegation')
            admin, = User.search([('login', '=', 'admin')])
            Delegation.create([{
                        'company': data['company'].id, 'user': admin.id,
                        'title': "Johtava sosiaalityöntekijä",
                        'max_amount': Decimal('100000.00'),
                        }])
            Configuration.write([Configuration(1)], {
                    'automated_decider': admin.id})
            cls.official_id = admin.id

    def url(self, path=''):
        return '/%s/hb/%s' % (DB_NAME, path)

    def run_pool(self, func):
        def run():
            pool = Pool()
            Company = pool.get('company.company')
            company, = Company.search([], limit=1)
            with Transaction().set_context(company=company.id):
                return func(pool)
        return run_in_transaction(run, user=0)

    def login(self, mobile):
        "Return a browser logged in with mobile"
        client = self.client()
        response = client.get(self.url('client/login?lang=en'))
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        client.post(self.url('client/login'), data={
                'mobile': mobile, 'csrf_token': token, 'lang': 'en'})
        code = self.run_pool(lambda pool: last_code(mobile))
        response = client.post(self.url('client/login'), data={
                'mobile': mobile, 'code': code, 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        return client

    def page(self, client, status=200):
        response = client.get(self.url('client/case?lang=en'))
        self.assertEqual(response.status_code, status)
        return response.get_data(as_text=True)

    def post(self, client, path, data, token=None):
        if token is None:
            token = CSRF.search(self.page(client)).group(1)
        data = dict(data, csrf_token=token, lang='en')
        return client.post(self.url('client/case/' + path), data=data)

    def requests(self, client_id, **domain):
        def read(pool):
            Request = pool.get('hb.client.request')
            return [(r.kind, r.state, r.text, r.amount)
                for r in Request.search([
                        ('client', '=', client_id),
                        *[(k, '=', v) for k, v in domain.items()]],
                    order=[('id', 'ASC')])]
        return self.run_pool(read)

    def lines(self, client_id):
        "The active budget's line amounts by category id, and its decision"
        def read(pool):
            Budget = pool.get('hb.budget')
            budget, = Budget.search([
                    ('client', '=', client_id), ('state', '=', 'active')])
            return ({line.category.id: line.amount
                    for line in budget.lines},
                budget.decision.id)
        return self.run_pool(read)

    def test_anonymous_is_sent_to_login(self):
        "Without a session the case page and the letters go to the login"
        for path in ['client/case',
                'client/case/letter/%d' % self.decision_id]:
            response = self.client().get(self.url(path))
            self.assertEqual(response.status_code, 302, path)
            self.assertIn('/hb/client/login', response.headers['Location'])

    def test_plan_decisions_and_letter(self):
        """The client sees the plan's services, the decision with its
        amount and a link to its letter, and downloads the letter; another
        client's letter is not found"""
        client = self.login(MOBILE)
        home = client.get(self.url('client?lang=en')).get_data(as_text=True)
        self.assertIn('/client/case?lang=en', home)
        text = self.page(client)
        self.assertIn("My plan", text)
        self.assertIn("Agreed home_help", text)
        self.assertIn("Agreed meals", text)
        self.assertIn('€500.00', text)
        self.assertNotIn("Toinen Asiakas", text)
        number = self.run_pool(lambda pool: pool.get('hb.decision')(
                self.decision_id).number)
        self.assertIn(number, text)
        self.assertIn("Granted", text)
        link = '/client/case/letter/%d?lang=en' % self.decision_id
        self.assertIn(link, text)
        self.assertIn('Content-Security-Policy', client.get(
                self.url('client/case')).headers)

        response = client.get(self.url(
                'client/case/letter/%d' % self.decision_id))
        self.assertEqual(response.status_code, 200)
        # the letter archived when sent: a PDF (or in a quick run without
        # LibreOffice the OpenDocument text)
        if letter_extension() == 'pdf':
            self.assertEqual(
                response.headers['Content-Type'], 'application/pdf')
            self.assertTrue(response.get_data().startswith(b'%PDF'))
            self.assertIn("The client is granted a personal budget of",
                pdf_text(response.get_data()))
        else:
            self.assertEqual(response.headers['Content-Type'],
                'application/vnd.oasis.opendocument.text')
        self.assertRegex(response.headers['Content-Disposition'],
            r'^attachment; filename="[A-Za-z0-9._-]+\.%s"$'
            % letter_extension())
        self.assertGreater(len(response.get_data()), 1000)
        self.assertEqual(response.headers['Cache-Control'], 'no-store')

        # Another client's decision: not found, in the page's format
        response = client.get(self.url(
                'client/case/letter/%d' % self.other_decision_id))
        self.assertEqual(response.status_code, 404)
        self.assertIn('text/html', response.headers['Content-Type'])
        self.assertIn('Content-Security-Policy', response.headers)
        response = client.get(self.url('client/case/letter/999999999'))
        self.assertEqual(response.status_code, 404)

    def test_message_and_review(self):
        "A message and a review request go to the own-worker's inbox"
        client = self.login(MOBILE)
        response = self.post(client, 'message', {
                'text': "Voisimmeko tavata ensi viikolla?"})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=sent', response.headers['Location'])
        text = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn("Your message was sent", text)
        self.assertIn("Voisimmeko tavata ensi viikolla?", text)
        self.assertIn("Waiting for the own-worker", text)
        response = self.post(client, 'review', {
                'text': "Tarve on kasvanut."})
        self.assertEqual(response.status_code, 302)
        found = self.requests(self.client_id)
        self.assertIn(('message', 'open', "Voisimmeko tavata ensi viikolla?",
                None), found)
        self.assertIn(('review', 'open', "Tarve on kasvanut.", None), found)

        def deadline(pool):
            Request = pool.get('hb.client.request')
            Date = pool.get('ir.date')
            request, = Request.search([
                    ('client', '=', self.client_id),
                    ('kind', '=', 'review')])
            return (request.deadline - Date.today()).days, (
                request.person.name)
        self.assertEqual(self.run_pool(deadline), (14, "Liisa Asiakas"))

    def test_bad_input(self):
        """Empty and too long texts, bad amounts, categories outside the
        budget, a missing CSRF token: refused with the page's errors and
        nothing saved"""
        client = self.login(MOBILE)
        before = self.requests(self.client_id)
        for path, data, status in [
                ('message', {'text': '  '}, 400),
                ('message', {'text': 'x' * 2001}, 400),
                ('review', {}, 400),
                ('move', {'from': self.home_help_id, 'to': self.meals_id,
                        'amount': 'abc'}, 400),
                ('move', {'from': self.home_help_id, 'to': self.meals_id,
                        'amount': '-5'}, 400),
                ('move', {'from': self.home_help_id, 'to': self.meals_id,
                        'amount': '1' * 20}, 400),
                ('move', {'from': self.home_help_id,
                        'to': self.home_help_id, 'amount': '10'}, 400),
                ('move', {'from': self.home_help_id, 'to': self.escort_id,
                        'amount': '10'}, 400),
                ('move', {'from': 'x', 'to': self.meals_id,
                        'amount': '10'}, 400),
                ('move', {'from': self.home_help_id, 'to': self.meals_id,
                        'amount': '300.01'}, 400),
                ('rectification', {'decision': self.other_decision_id,
                        'text': "Muuta"}, 400),
                ('rectification', {'decision': self.decision_id}, 400),
                ]:
            with self.subTest(path=path, data=data):
                response = self.post(client, path, data)
                self.assertEqual(response.status_code, status)
                text = response.get_data(as_text=True)
                self.assertIn('class="error', text)
                self.assertIn('Content-Security-Policy', response.headers)
        response = self.post(client, 'message', {'text': "Hei"},
            token='wrong')
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.requests(self.client_id), before)

    def test_move_within_limit(self):
        """A move within the limit is applied at once: an amendment
        decision supersedes the budget's decision, the budget's lines
        change, the letter is archived and listed"""
        client = self.login(MOBILE_MOVER)
        amounts, old = self.lines(self.mover_id)
        response = self.post(client, 'move', {
                'from': self.home_help_id, 'to': self.meals_id,
                'amount': '50,00', 'text': "Enemmän aterioita"})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=moved', response.headers['Location'])
        new_amounts, new = self.lines(self.mover_id)
        self.assertNotEqual(new, old)
        self.assertEqual(new_amounts[self.home_help_id],
            amounts[self.home_help_id] - Decimal('50.00'))
        self.assertEqual(new_amounts[self.meals_id],
            amounts[self.meals_id] + Decimal('50.00'))

        def decision(pool):
            Decision = pool.get('hb.decision')
            decision = Decision(new)
            return (decision.state, decision.outcome,
                decision.supersedes.id, decision.amount,
                bool(decision.letter), decision.sent_date is not None,
                Decision(old).superseded_by.id, decision.automated,
                decision.approved_by.id)
        self.assertEqual(self.run_pool(decision), (
                'approved', 'amended', old, sum(amounts.values()), True,
                True, new, True, self.official_id))
        found = self.requests(self.mover_id, kind='move')
        self.assertEqual(found[-1], ('move', 'done', "Enemmän aterioita",
                Decimal('50.00')))
        text = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn("The money was moved", text)
        self.assertIn('/client/case/letter/%d?' % new, text)
        self.assertIn("Amended", text)
        response = client.get(self.url('client/case/letter/%d' % new))
        self.assertEqual(response.status_code, 200)

    def test_move_without_official_to_inbox(self):
        """Without the settings' official for automatic decisions a move
        within the limit waits in the inbox too"""
        def set_official(official_id):
            def write(pool):
                Configuration = pool.get('hb.configuration')
                Configuration.write([Configuration(1)], {
                        'automated_decider': official_id})
            self.run_pool(write)
        client = self.login(MOBILE)
        amounts, old = self.lines(self.client_id)
        set_official(None)
        try:
            response = self.post(client, 'move', {
                    'from': self.home_help_id, 'to': self.meals_id,
                    'amount': '10'})
        finally:
            set_official(self.official_id)
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=move_waits', response.headers['Location'])
        self.assertEqual(self.lines(self.client_id), (amounts, old))
        self.assertIn(('move', 'open', None, Decimal('10.00')),
            self.requests(self.client_id, kind='move'))

    def test_move_not_covered_to_inbox(self):
        """A move within the limit that the official's delegation does
        not cover (its amount, then its service categories) is not an
        error: it waits in the inbox and the client is told so"""
        def set_delegation(values):
            def write(pool):
                Delegation = pool.get('hb.decision.delegation')
                delegation, = Delegation.search([
                        ('user', '=', self.official_id)])
                before = {
                    'max_amount': delegation.max_amount,
                    'service_categories': [
                        c.id for c in delegation.service_categories],
                    }
                Delegation.write([delegation], {
                        'max_amount': values['max_amount'],
                        'service_categories': [
                            ('remove', before['service_categories']),
                            ('add', values['service_categories'])],
                        })
                return before
            return self.run_pool(write)
        client = self.login(MOBILE_MOVER)
        amounts, old = self.lines(self.mover_id)
        moves = len(self.requests(self.mover_id, kind='move'))
        for values in [
                # the yearly amount of the client's budget is above
                {'max_amount': Decimal('100.00'), 'service_categories': []},
                # the amendment keeps meals, which is not covered
                {'max_amount': Decimal('100000.00'),
                    'service_categories': [self.home_help_id]},
                ]:
            before = set_delegation(values)
            try:
                response = self.post(client, 'move', {
                        'from': self.home_help_id, 'to': self.meals_id,
                        'amount': '5'})
            finally:
                set_delegation(before)
            self.assertEqual(response.status_code, 302)
            self.assertIn('done=move_waits', response.headers['Location'])
            text = client.get(response.headers['Location']).get_data(
                as_text=True)
            self.assertIn("waits for their decision", text)
            self.assertEqual(self.lines(self.mover_id), (amounts, old))
        found = self.requests(self.mover_id, kind='move')
        self.assertEqual(found[moves:],
            [('move', 'open', None, Decimal('5.00'))] * 2)
        # covered again: decided automatically at once
        response = self.post(client, 'move', {
                'from': self.home_help_id, 'to': self.meals_id,
                'amount': '5'})
        self.assertIn('done=moved', response.headers['Location'])
        self.assertNotEqual(self.lines(self.mover_id)[1], old)

    def test_move_above_limit_to_inbox(self):
        """A move above the limit waits in the inbox; the own-worker
        applies it (an amendment) or refuses it with an answer"""
        client = self.login(MOBILE_MOVER)
        amounts, old = self.lines(self.mover_id)
        response = self.post(client, 'move', {
                'from': self.meals_id, 'to': self.home_help_id,
                'amount': '150'})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=move_requested', response.headers['Location'])
        self.assertEqual(self.lines(self.mover_id), (amounts, old))
        response = self.post(client, 'move', {
                'from': self.meals_id, 'to': self.home_help_id,
                'amount': '120'})
        self.assertEqual(response.status_code, 302)

        def handle(pool):
            Request = pool.get('hb.client.request')
            first, second = Request.search([
                    ('client', '=', self.mover_id),
                    ('kind', '=', 'move'),
                    ('state', '=', 'open'),
                    ], order=[('id', 'ASC')])
            self.assertEqual(len(first.history), len(Request.search([
                        ('client', '=', self.mover_id)])) - 1)
            Request.apply([first])
            with self.assertRaises(UserError):
                Request.refuse([second])
            second.answer = "Ateriapalvelun raha ei riitä kahteen siirtoon."
            second.save()
            Request.refuse([second])
            return (first.state, first.decision.outcome,
                first.decision.supersedes.id, second.state)
        self.assertEqual(self.run_pool(handle),
            ('done', 'amended', old, 'refused'))
        new_amounts, _ = self.lines(self.mover_id)
        self.assertEqual(new_amounts[self.meals_id],
            amounts[self.meals_id] - Decimal('150.00'))
        text = self.page(client)
        self.assertIn("Ateriapalvelun raha ei riitä kahteen siirtoon.", text)
        self.assertIn("Refused", text)

    def test_rectification(self):
        """A rectification request from the page is received through the
        client page for the client's decision, with its deadline, and is
        in the inbox"""
        client = self.login(MOBILE)
        response = self.post(client, 'rectification', {
                'decision': self.decision_id,
                'text': "Ateriapalvelun määrä on liian pieni."})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=rectification', response.headers['Location'])

        def read(pool):
            Rectification = pool.get('hb.decision.rectification')
            Request = pool.get('hb.client.request')
            rectification, = Rectification.search([
                    ('decision', '=', self.decision_id)])
            request, = Request.search([
                    ('rectification', '=', rectification.id)])
            return (rectification.channel, rectification.request,
                rectification.state, rectification.late,
                rectification.deadline is not None, request.kind,
                request.state)
        self.assertEqual(self.run_pool(read), (
                'client_page', "Ateriapalvelun määrä on liian pieni.",
                'received', False, True, 'rectification', 'open'))

    def test_representatives(self):
        """A representative with the right makes requests for the client;
        one without it sees the page but no forms and is refused"""
        helper = self.login(MOBILE_HELPER)
        text = self.page(helper)
        self.assertIn("Auttaja Sukulainen", text)
        self.assertIn('/client/case/message"', text)
        response = self.post(helper, 'message', {'text': "Edustajalta"})
        self.assertEqual(response.status_code, 302)

        def person(pool):
            Request = pool.get('hb.client.request')
            request, = Request.search([('text', '=', "Edustajalta")])
            return request.person.name
        self.assertEqual(self.run_pool(person), "Auttaja Sukulainen")

        viewer = self.login(MOBILE_VIEWER)
        text = self.page(viewer)
        self.assertIn("Agreed meals", text)
        self.assertNotIn('/client/case/message"', text)
        response = self.post(viewer, 'message', {'text': "Katsojalta"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.requests(self.client_id, text="Katsojalta"),
            [])

    def test_representative_rectification(self):
        """A representative with may_make_requests files a rectification
        request of the client's decision on the page (Hallintolaki 49 b §),
        recorded in the representative's name; one without the right sees
        no form and is refused, and nothing is recorded"""
        def read(pool, text):
            Rectification = pool.get('hb.decision.rectification')
            Request = pool.get('hb.client.request')
            return [(r.channel, r.decision.id, r.state, [
                        q.person.name for q in Request.search([
                                ('rectification', '=', r.id)])])
                for r in Rectification.search([('request', '=', text)])]

        helper = self.login(MOBILE_HELPER)
        self.assertIn('/client/case/rectification"', self.page(helper))
        response = self.post(helper, 'rectification', {
                'decision': self.decision_id,
                'text': "Edustaja: kotiapu ei riitä."})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=rectification', response.headers['Location'])
        self.assertEqual(
            self.run_pool(lambda p: read(p, "Edustaja: kotiapu ei riitä.")),
            [('client_page', self.decision_id, 'received',
                    ["Auttaja Sukulainen"])])

        viewer = self.login(MOBILE_VIEWER)
        self.assertNotIn('/client/case/rectification"', self.page(viewer))
        response = self.post(viewer, 'rectification', {
                'decision': self.decision_id,
                'text': "Katsoja: oikaisu."})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            self.run_pool(lambda p: read(p, "Katsoja: oikaisu.")), [])

    def test_daily_limit(self):
        "Too many requests in a day: 429 and nothing saved"
        client = self.login(MOBILE_OTHER)
        with mock.patch.object(client_case, 'MAX_REQUESTS_PER_DAY', 1):
            response = self.post(client, 'message', {'text': "Eka"})
            self.assertEqual(response.status_code, 302)
            response = self.post(client, 'review', {'text': "Toka"})
            self.assertEqual(response.status_code, 429)
        self.assertEqual(
            [r[2] for r in self.requests(self.other_client_id())], ["Eka"])

    def other_client_id(self):
        def read(pool):
            Party = pool.get('party.party')
            party, = Party.search([('name', '=', "Toinen Asiakas")])
            return party.id
        return self.run_pool(read)

    def test_page_languages(self):
        "The page renders in fi, sv and en"
        client = self.login(MOBILE)
        for lang in ['fi', 'sv', 'en']:
            response = client.get(self.url('client/case?lang=' + lang))
            self.assertEqual(response.status_code, 200)
            text = response.get_data(as_text=True)
            self.assertIn('<html lang="%s">' % lang, text)
            self.assertIn('/client/case/message"', text)
