# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The access matrix: who may do what, walked as a table.

Roles: anonymous, client, representative, provider A, provider B,
own-worker of another client, (the client's own) own-worker, finance,
HB administrator, data protection officer. Targets: the public pages, the
provider portal, the client page, the JSON API and the HB models through
real JSON-RPC (search, read, write, delete, export_data). Every row says
"allowed" or "refused"; the test walks all rows and reports every row
that does not hold at once.

The world (build_world) is reused by the other security tests."""
import base64
import json
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase

from trytond.modules.hb_marketplace.tests.tools import set_password
from trytond.modules.hb_voucher.tests.tools import (
    create_api_key,
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    run_in_transaction,
    setup_hb,
)

MOBILE_1 = '+358401230001'   # client 1 (own-worker: worker)
MOBILE_2 = '+358401230002'   # client 2 (own-worker: other_worker)
MOBILE_REP = '+358401230009'  # representative of client 1
PASSWORD = 'Secret-password-1234'
PROVIDER_PASSWORDS = ['Provider-A-secret-1', 'Provider-B-secret-2']
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
# Roles with a Tryton login (res.user): login -> groups (module, xml id)
USERS = {
    'worker': [('hb_budget', 'group_hb_own_worker')],
    'other_worker': [('hb_budget', 'group_hb_own_worker')],
    'finance': [('hb_voucher', 'group_hb_finance'),
        ('account', 'group_account')],
    'hb_admin': [('hb_budget', 'group_hb_admin')],
    'dpo': [('hb_budget', 'group_hb_dpo')],
    'supervisor': [('hb_budget', 'group_hb_supervisor')],
    'service_manager': [('hb_budget', 'group_hb_service_manager')],
    }


def build_world():
    """Commit (in the current transaction) a wellbeing area with two
    providers A and B, two clients each with an own-worker, a budget and
    a captured charge (client 1 by A, client 2 by B), a representative of
    client 1 and the users of USERS. Return a dict of ids and secrets."""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Party = pool.get('party.party')
    Representative = pool.get('hb.client.representative')
    Charge = pool.get('hb.charge')
    Plan = pool.get('hb.plan')
    Decision = pool.get('hb.decision')
    BudgetMove = pool.get('hb.budget.move')
    ids = {}
    company = create_wellbeing_area()
    with set_company(company):
        data = setup_hb()
        # The tests of this world log the same numbers in again and again
        # from one address: the limits of one-time codes (issue 15's SMS
        # flooding) are tested in hb_voucher's test_login_limits
        Configuration = pool.get('hb.configuration')
        Configuration.write([Configuration(1)], {
                'hb_login_code_interval': 0,
                'hb_login_code_limit': 1000,
                'hb_login_ip_limit': 1000,
                'hb_login_answer_time': 0,
                })
        users = {}
        for login, groups in USERS.items():
            user, = User.create([{
                        'name': login.replace('_', ' ').title(),
                        'login': login,
                        'password': PASSWORD,
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        'groups': [('add', [
                                    ModelData.get_id(m, g)
                                    for m, g in groups])],
                        }])
            users[login] = user
            ids['user_' + login] = user.id
        a = create_provider_with_service(data, 0, name='Provider A Oy')
        b = create_provider_with_service(data, 1, name='Provider B Oy')
        for application, password in zip((a, b), PROVIDER_PASSWORDS):
            set_password(application.web_user, password)
        client1 = create_client(data, MOBILE_1, individual=911,
            name="Asiakas Yksi")
        client2 = create_client(data, MOBILE_2, individual=912,
            name="Asiakas Kaksi")
        Party.write([client1], {'hb_own_worker': users['worker'].id})
        Party.write([client2], {'hb_own_worker': users['other_worker'].id})
        budget1 = create_budget(data, client1, Decimal('500.00'))
        budget2 = create_budget(data, client2, Decimal('500.00'))
        relative, = Party.create([{'name': "Edustaja Esimerkki"}])
        Representative.create([{
                    'client': client1.id, 'party': relative.id,
                    'mobile': MOBILE_REP, 'may_confirm_charges': True,
                    }])
        product_a = provider_product(a)
        product_b = provider_product(b)
        charges = {}
        for name, provider, product, mobile in [
                ('charge_a', a, product_a, MOBILE_1),
                ('charge_b', b, product_b, MOBILE_2)]:
            charge, _ = Charge.request(
                provider.party, mobile, [(product.id, 1)], name)
            Charge.confirm(charge, last_code(mobile))
            charges[name] = charge.id
        ids.update(charges)
        ids.update({
                'company': company.id,
                'party_a': a.party.id, 'party_b': b.party.id,
                'web_user_a': a.web_user.id, 'web_user_b': b.web_user.id,
                'email_a': a.web_user.email, 'email_b': b.web_user.email,
                'service_a': product_a.template.id,
                'service_b': product_b.template.id,
                'product_a': product_a.id, 'product_b': product_b.id,
                'client1': client1.id, 'client2': client2.id,
                'hetu1': client1.hb_hetu, 'hetu2': client2.hb_hetu,
                'budget1': budget1.id, 'budget2': budget2.id,
                'line1': budget1.lines[0].id, 'line2': budget2.lines[0].id,
                'plan1': Plan.search([('client', '=', client1.id)])[0].id,
                'decision1': Decision.search(
                    [('client', '=', client1.id)])[0].id,
                'move1': BudgetMove.search(
                    [('budget', '=', budget1.id)], limit=1)[0].id,
                'relative': relative.id,
                'company_party': company.party.id,
                'key_a': create_api_key(a),
                'key_b': create_api_key(b),
                })
        for name, value in data.items():
            if name in {'kajaani', 'sotkamo', 'kuhmo', 'avain', 'elderly',
                    'home_help', 'cleaning', 'meals', 'escort'}:
                ids[name] = value.id
    return ids


class Rpc:
    "JSON-RPC of a Tryton user through the WSGI application"

    def __init__(self, client, login=None, password=PASSWORD):
        self.client = client
        self.header = None
        if login:
            result = self.call('common.db.login', login,
                {'password': password}, 'en', auth=False)
            if 'result' in result:
                user_id, key = result['result'][:2]
                self.header = 'Session ' + base64.b64encode(
                    ('%s:%s:%s' % (login, user_id, key)).encode()).decode()
            self.login_result = result

    def call(self, method, *params, auth=True):
        headers = {'Content-Type': 'application/json'}
        if auth and self.header:
            headers['Authorization'] = self.header
        response = self.client.post('/%s/rpc/' % DB_NAME,
            data=json.dumps({'id': 1, 'method': method,
                    'params': list(params)}), headers=headers)
        if response.status_code != 200:
            return {'status': response.status_code}
        return json.loads(response.get_data(as_text=True))

    def model(self, model, method, *params):
        return self.call('model.%s.%s' % (model, method), *params, {})


class WorldTestCase(RouteTestCase):
    "A route test case on the committed world of build_world"
    module = 'hb_voucher'
    extras = []  # more modules to activate

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        cls.ids = run_in_transaction(build_world, prelocked=True)
        run_in_transaction(cls.setUpWorld, prelocked=True)

    @classmethod
    def setUpWorld(cls):
        pass

    def url(self, path):
        return '/%s/hb/%s' % (DB_NAME, path)

    def portal_login(self, client, role):
        index = {'provider_a': 0, 'provider_b': 1}[role]
        email = self.ids['email_' + role[-1]]
        response = client.get(self.url('provider/login'))
        match = CSRF.search(response.get_data(as_text=True))
        return client.post(self.url('provider/login'), data={
                'email': email, 'password': PROVIDER_PASSWORDS[index],
                'csrf_token': match.group(1) if match else '',
                })

    def web_client(self, role):
        "Return a werkzeug client logged in as the role (web roles)"
        client = self.client()
        if role in {'provider_a', 'provider_b'}:
            response = self.portal_login(client, role)
            self.assertEqual(response.status_code, 302, role)
        elif role in {'client', 'representative'}:
            self.client_page_login(
                client, MOBILE_1 if role == 'client' else MOBILE_REP)
        return client

    def client_page_login(self, client, mobile):
        """Log in to the client page by mobile and one-time code (the
        form of /hb/client/login: mobile, then code)"""
        response = client.get(self.url('client/login'))
        text = response.get_data(as_text=True)
        match = CSRF.search(text)
        token = match.group(1) if match else ''
        client.post(self.url('client/login'), data={
                'mobile': mobile, 'csrf_token': token})

        def code():
            with test_tryton.Transaction().start(DB_NAME, 0):
                return last_code(mobile)
        response = client.post(self.url('client/login'), data={
                'mobile': mobile, 'code': code() or '',
                'csrf_token': token})
        return response


ALL_WEB = ['anonymous', 'provider_a', 'provider_b']
RPC_USERS = ['worker', 'other_worker', 'finance', 'hb_admin', 'dpo']
# who sees which HB client at all (issue 15: the party list of an
# own-worker shows their own clients only; non-clients stay visible)
CLIENT_VISIBILITY = {
    'worker': ('allowed', 'refused'),
    'other_worker': ('refused', 'allowed'),
    'supervisor': ('allowed', 'allowed'),
    'service_manager': ('allowed', 'allowed'),
    'hb_admin': ('allowed', 'allowed'),
    'dpo': ('allowed', 'allowed'),
    'finance': ('allowed', 'allowed'),
    }
NO_RPC = ['anonymous', 'client', 'representative', 'provider_a',
    'provider_b']

# (role, method, path, expected status or (status, text that must appear,
# text that must not)); {name} are ids of the world
WEB_MATRIX = [
    *[(r, 'GET', 'catalogue', 200) for r in ALL_WEB],
    *[(r, 'GET', 'catalogue/service/{service_a}', 200) for r in ALL_WEB],
    ('anonymous', 'GET', 'provider', 302),
    ('provider_a', 'GET', 'provider', (200, 'Provider A Oy', None)),
    ('provider_b', 'GET', 'provider', (200, 'Provider B Oy', None)),
    ('anonymous', 'GET', 'provider/service/{service_a}', 302),
    ('provider_a', 'GET', 'provider/service/{service_a}', 200),
    ('provider_b', 'GET', 'provider/service/{service_a}', 404),
    ('provider_a', 'GET', 'provider/service/{service_b}', 404),
    ('provider_b', 'GET', 'provider/service/{service_b}', 200),
    ('anonymous', 'POST', 'provider/bank', 302),
    ('anonymous', 'POST', 'provider/users', 302),
    ('anonymous', 'POST', 'provider/logout', 302),
    ]

# (role (key), method, path, expected status); the JSON API
API_MATRIX = [
    ('anonymous', 'GET', 'charges/{charge_a}', 401),
    ('anonymous', 'GET', 'charges', 401),
    ('anonymous', 'POST', 'charges', 401),
    ('anonymous', 'POST', 'charges/{charge_a}/cancel', 401),
    ('anonymous', 'GET', 'openapi.json', 200),
    ('provider_a', 'GET', 'charges/{charge_a}', 200),
    ('provider_a', 'GET', 'charges/{charge_b}', 404),
    ('provider_b', 'GET', 'charges/{charge_a}', 404),
    ('provider_b', 'GET', 'charges/{charge_b}', 200),
    ('provider_b', 'POST', 'charges/{charge_a}/cancel', 404),
    ('provider_b', 'POST', 'charges/{charge_a}/confirm', 404),
    ('provider_a', 'POST', 'charges/{charge_b}/cancel', 404),
    ('wrong_key', 'GET', 'charges/{charge_a}', 401),
    ('web_password', 'GET', 'charges/{charge_a}', 401),
    ]

# (role, model, operation, target, expected): operation is search (the
# target is a domain that must find the record, refused = not found),
# read / export (of the fields), write (values) or delete; expected is
# 'allowed', 'refused' or for HETU reads 'masked'
C1 = 'client1'
RPC_MATRIX = []
for _role in NO_RPC:
    RPC_MATRIX.append((_role, 'party.party', 'read', (C1, ['name']),
            'refused'))
for _role, _hetu in [('worker', 'allowed'), ('other_worker', 'refused'),
        ('finance', 'masked'), ('hb_admin', 'allowed'), ('dpo', 'masked')]:
    RPC_MATRIX += [
        (_role, 'party.party', 'read', (C1, ['hb_hetu']), _hetu),
        (_role, 'party.party', 'export', (C1, ['hb_hetu']), _hetu),
        (_role, 'party.identifier', 'read_hetu', (C1, ['code']), _hetu),
        (_role, 'party.party', 'search',
            (C1, [('hb_hetu', '=', '{hetu1}')]),
            'allowed' if _hetu == 'allowed' else 'refused'),
        ]
for _role, (_c1, _c2) in CLIENT_VISIBILITY.items():
    for _target, _expected in [('client1', _c1), ('client2', _c2)]:
        RPC_MATRIX += [
            (_role, 'party.party', 'read', (_target, ['name']), _expected),
            (_role, 'party.party', 'search',
                (_target, [('hb_client', '=', True)]), _expected),
            (_role, 'party.party', 'export', (_target, ['name']),
                _expected),
            ]
    # parties that are not HB clients: a provider, a representative, the
    # wellbeing area (the company)
    for _target in ['party_a', 'relative', 'company_party']:
        RPC_MATRIX += [
            (_role, 'party.party', 'read', (_target, ['name']), 'allowed'),
            (_role, 'party.party', 'search', (_target, []), 'allowed'),
            ]
_OWN = {  # what the client's own-worker, another own-worker and the
    # other roles may do with client 1's records: model -> role -> ops
    'hb.plan': 'plan1', 'hb.decision': 'decision1', 'hb.budget': 'budget1',
    'hb.budget.line': 'line1', 'hb.budget.move': 'move1',
    'hb.charge': 'charge_a',
    }
for _model, _target in _OWN.items():
    for _op in ['read', 'search', 'export']:
        _arg = None if _op == 'search' else ['rec_name', 'create_date']
        RPC_MATRIX += [
            ('worker', _model, _op, (_target, _arg), 'allowed'),
            ('other_worker', _model, _op, (_target, _arg), 'refused'),
            ('hb_admin', _model, _op, (_target, _arg), 'allowed'),
            ('dpo', _model, _op, (_target, _arg),
                'allowed' if _model == 'hb.charge' else 'refused'),
            ('finance', _model, _op, (_target, _arg),
                'allowed' if _model == 'hb.charge' else 'refused'),
            ]
    for _role in RPC_USERS:
        RPC_MATRIX.append((_role, _model, 'delete', (_target, None),
                'refused'))
RPC_MATRIX += [
    ('other_worker', 'hb.plan', 'write', ('plan1', {'needs': 'x'}),
        'refused'),
    ('other_worker', 'hb.budget', 'write', ('budget1', {}), 'refused'),
    ('finance', 'hb.budget', 'write', ('budget1', {}), 'refused'),
    ('dpo', 'hb.plan', 'write', ('plan1', {'needs': 'x'}), 'refused'),
    ('other_worker', 'party.party', 'write',
        ('client1', {'hb_hetu': '{hetu2}'}), 'refused'),
    # the access log: only the DPO reads it, nobody changes it
    *[(r, 'hb.access.log', 'search', (None, []),
        'allowed' if r == 'dpo' else 'refused') for r in RPC_USERS],
    *[(r, 'hb.access.log', 'delete_any', (None, None), 'refused')
        for r in RPC_USERS],
    *[(r, 'hb.access.log', 'write_any', (None, {'model': 'x'}), 'refused')
        for r in RPC_USERS],
    # one-time codes and API keys are secrets
    *[(r, 'hb.sms.message', 'search', (None, []),
        'allowed' if r == 'hb_admin' else 'refused') for r in RPC_USERS],
    *[(r, 'res.user.application', 'search', (None, [('key', '!=', None)]),
        'refused') for r in RPC_USERS if r != 'hb_admin'],
    ]


class AccessMatrixTestCase(WorldTestCase):
    "Every role is allowed or refused exactly as designed"

    def _fmt(self, value):
        if isinstance(value, str):
            return value.format(**self.ids)
        if isinstance(value, list):
            return [self._fmt(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._fmt(v) for v in value)
        if isinstance(value, dict):
            return {k: self._fmt(v) for k, v in value.items()}
        return value

    def test_web_matrix(self):
        "Public pages and the provider portal, by role"
        clients = {r: self.web_client(r) for r in ALL_WEB}
        wrong = []
        for role, method, path, expected in WEB_MATRIX:
            client = clients[role]
            url = self.url(self._fmt(path))
            response = (client.get(url) if method == 'GET'
                else client.post(url, data={}))
            status, present, absent = (
                expected if isinstance(expected, tuple)
                else (expected, None, None))
            text = response.get_data(as_text=True)
            if (response.status_code != status
                    or (present and present not in text)
                    or (absent and absent in text)):
                wrong.append('%s %s %s: %s, expected %s' % (
                        role, method, path, response.status_code, expected))
        self.assertEqual(wrong, [], '\n'.join(wrong))
        type(self).counts['web'] = len(WEB_MATRIX)

    def test_api_matrix(self):
        "The JSON API: each provider's key reaches its own charges only"
        keys = {
            'anonymous': None, 'provider_a': self.ids['key_a'],
            'provider_b': self.ids['key_b'], 'wrong_key': 'x' * 32,
            'web_password': PROVIDER_PASSWORDS[0]}
        client = self.client()
        wrong = []
        for role, method, path, status in API_MATRIX:
            headers = {'Content-Type': 'application/json'}
            if keys[role]:
                headers['Authorization'] = 'Bearer %s' % keys[role]
            url = '/%s/hb/api/v1/%s' % (DB_NAME, self._fmt(path))
            if method == 'GET':
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, data='{}', headers=headers)
            if response.status_code != status:
                wrong.append('%s %s %s: %s, expected %s' % (
                        role, method, path, response.status_code, status))
        # the list of a provider holds its own charges only
        for role, own, other in [('provider_a', 'charge_a', 'charge_b'),
                ('provider_b', 'charge_b', 'charge_a')]:
            response = client.get(
                '/%s/hb/api/v1/charges' % DB_NAME, headers={
                    'Authorization': 'Bearer %s' % keys[role]})
            found = {c['id'] for c in response.get_json()['charges']}
            if self.ids[own] not in found or self.ids[other] in found:
                wrong.append('%s GET charges lists %s' % (role, found))
        self.assertEqual(wrong, [], '\n'.join(wrong))
        type(self).counts['api'] = len(API_MATRIX) + 2

    def test_client_page_matrix(self):
        """The client page: anonymous gets its login, the client sees
        their own budget, the representative the client's, nobody else's
        (issue 5: /<db>/hb/client)"""
        wrong = []
        anonymous = self.client()
        response = anonymous.get(self.url('client'))
        if response.status_code not in {200, 302, 303}:
            wrong.append('anonymous GET client: %s' % response.status_code)
        for role in ['client', 'representative']:
            client = self.web_client(role)
            response = client.get(self.url('client'))
            text = response.get_data(as_text=True)
            if (response.status_code != 200 or "Asiakas Yksi" not in text
                    or "Asiakas Kaksi" in text):
                wrong.append('%s GET client: %s' % (
                        role, response.status_code))
            for hetu in [self.ids['hetu1'], self.ids['hetu2']]:
                if hetu in text:
                    wrong.append('%s sees a HETU on the client page' % role)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def _rpc_row(self, rpcs, role, model, operation, target, expected):
        "Return what happened: 'allowed', 'refused' or 'masked'"
        rpc = rpcs[role]
        name, argument = target
        record = self.ids[name] if name else None
        argument = self._fmt(argument)
        if operation == 'read_hetu':
            result = rpc.model('party.identifier', 'search_read',
                [('party', '=', record), ('type', '=', 'fi_hetu')],
                0, None, None, ['code'])
            if 'result' not in result:
                return 'refused'
            codes = [r['code'] for r in result['result']]
            return 'allowed' if self.ids['hetu1'] in codes else (
                'masked' if codes else 'refused')
        if operation == 'search':
            domain = argument if argument else []
            if record:
                domain = [('id', '=', record), *domain]
            result = rpc.model(model, 'search', domain, 0, None, None)
            return 'allowed' if result.get('result') else 'refused'
        if operation == 'read':
            result = rpc.model(model, 'read', [record], argument)
            if 'result' not in result or not result['result']:
                return 'refused'
            if argument == ['hb_hetu']:
                return ('allowed' if result['result'][0]['hb_hetu']
                    == self.ids['hetu1'] else 'masked')
            return 'allowed'
        if operation == 'export':
            result = rpc.model(model, 'export_data', [record], argument)
            if ('result' not in result or not result['result']
                    or not any(result['result'][0])):
                return 'refused'
            if argument == ['hb_hetu']:
                return ('allowed' if result['result'][0][0]
                    == self.ids['hetu1'] else 'masked')
            return 'allowed'
        if operation in {'write', 'write_any', 'delete', 'delete_any'}:
            if record is None:
                found = rpcs['dpo'].model(model, 'search', [], 0, 1, None)
                if not found.get('result'):
                    return 'no record to try'
                record = found['result'][0]
            if operation.startswith('write'):
                result = rpc.model(model, 'write', [record], argument)
            else:
                result = rpc.model(model, 'delete', [record])
            return 'allowed' if 'result' in result else 'refused'
        raise ValueError(operation)

    def test_rpc_matrix(self):
        "HB models through JSON-RPC: search, read, write, delete, export"
        rpcs = {r: Rpc(self.client(), r) for r in USERS}
        for role in USERS:
            self.assertIn('result', rpcs[role].login_result, role)
        anonymous = Rpc(self.client())
        for role in NO_RPC:
            rpcs[role] = anonymous
        # web users and clients have no Tryton login
        for login, password in [
                (self.ids['email_a'], PROVIDER_PASSWORDS[0]),
                (MOBILE_1, ''), (MOBILE_REP, '')]:
            result = Rpc(self.client(), login, password).login_result
            self.assertNotIn('result', result, login)
        wrong = []
        for row in RPC_MATRIX:
            role, model, operation, target, expected = row
            got = self._rpc_row(rpcs, *row)
            if got != expected:
                wrong.append('%s %s %s %s: %s, expected %s' % (
                        role, model, operation, target[0], got, expected))
        self.assertEqual(wrong, [], '%d of %d rows wrong:\n%s' % (
                len(wrong), len(RPC_MATRIX), '\n'.join(wrong)))

    counts = {}
