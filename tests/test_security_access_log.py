# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The access log (hb.access.log): every read of a client's data through
JSON-RPC (what sao uses), the provider's API and portal and the client page
is logged with who read it; nobody changes or deletes the log, not even
the administrator through the ORM; the data protection officer lists who
viewed a given client."""
from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from tests import test_security_access as world

# model, world key of client 1's record, fields read over RPC
RPC_READS = [
    ('party.party', 'client1', ['name', 'hb_mobile']),
    ('hb.plan', 'plan1', ['needs']),
    ('hb.decision', 'decision1', ['amount']),
    ('hb.budget', 'budget1', ['amount']),
    ('hb.budget.line', 'line1', ['amount']),
    ('hb.charge', 'charge_a', ['amount', 'client']),
    ]


class AccessLogTestCase(world.WorldTestCase):
    "hb.access.log is complete, append-only and reportable"

    def log_rows(self, after_id=0, client=None):
        with Transaction().start(DB_NAME, 0):
            AccessLog = Pool().get('hb.access.log')
            domain = [('id', '>', after_id)]
            if client:
                domain.append(('client', '=', client))
            return [(g.user.login if g.user else None, g.model, g.record,
                    g.client.id if g.client else None)
                for g in AccessLog.search(domain)]

    def last_id(self):
        with Transaction().start(DB_NAME, 0):
            AccessLog = Pool().get('hb.access.log')
            logs = AccessLog.search([], order=[('id', 'DESC')], limit=1)
            return logs[0].id if logs else 0

    def test_rpc_reads_logged(self):
        "Each read of client data over JSON-RPC leaves a row: who, what"
        rpc = world.Rpc(self.client(), 'worker')
        missing = []
        for model, key, fields in RPC_READS:
            start = self.last_id()
            for method, params in [
                    ('read', ([self.ids[key]], fields)),
                    ('search_read', ([('id', '=', self.ids[key])],
                            0, None, None, fields)),
                    ('export_data', ([self.ids[key]], fields))]:
                result = rpc.model(model, method, *params)
                self.assertIn('result', result, (model, method, result))
                rows = self.log_rows(start)
                if ('worker', model, self.ids[key],
                        self.ids['client1']) not in rows:
                    missing.append('%s.%s' % (model, method))
                start = self.last_id()
        self.assertEqual(missing, [], 'reads not logged')

    def test_api_read_logged(self):
        "A provider's terminal reading a charge (client's name) is logged"
        start = self.last_id()
        response = self.client().get('/%s/hb/api/v1/charges/%d' % (
                DB_NAME, self.ids['charge_a']), headers={
                'Authorization': 'Bearer %s' % self.ids['key_a']})
        self.assertEqual(response.status_code, 200)
        rows = self.log_rows(start, client=self.ids['client1'])
        self.assertTrue(rows, 'the API read of a charge is not logged')

    def test_client_page_read_logged(self):
        "The client's own page view is logged (issue 5 client page)"
        client = self.web_client('client')
        start = self.last_id()
        response = client.get(self.url('client'))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(self.log_rows(start, client=self.ids['client1']),
            'the client page view is not logged')

    def test_append_only(self):
        "Nobody changes or deletes the log: not the ORM's root, not RPC"
        rpc = world.Rpc(self.client(), 'worker')
        rpc.model('hb.budget', 'read', [self.ids['budget1']], ['amount'])
        with Transaction().start(DB_NAME, 0) as transaction:
            AccessLog = Pool().get('hb.access.log')
            logs = AccessLog.search([], limit=1)
            self.assertTrue(logs)
            log_id, model = logs[0].id, logs[0].model
            for action in [
                    lambda: AccessLog.write(logs, {'model': 'x'}),
                    lambda: AccessLog.write(logs, {'user': None}),
                    lambda: AccessLog.delete(logs)]:
                with self.assertRaises(UserError):
                    action()
                transaction.rollback()
        for role in world.RPC_USERS:
            rpc = world.Rpc(self.client(), role)
            for method, params in [
                    ('write', ([log_id], {'model': 'x'})),
                    ('delete', ([log_id],)),
                    ('create', ([{'model': 'party.party', 'record': 1,
                                    'date': None}],))]:
                result = rpc.model('hb.access.log', method, *params)
                self.assertNotIn('result', result, (role, method))
        with Transaction().start(DB_NAME, 0):
            AccessLog = Pool().get('hb.access.log')
            self.assertEqual(AccessLog(log_id).model, model)

    def test_who_viewed(self):
        "The DPO lists who viewed client 1: the readers, nobody else"
        for role in ['worker', 'hb_admin']:
            world.Rpc(self.client(), role).model('party.party', 'read',
                [self.ids['client1']], ['hb_hetu'])
        world.Rpc(self.client(), 'other_worker').model('party.party',
            'read', [self.ids['client2']], ['hb_hetu'])
        dpo = world.Rpc(self.client(), 'dpo')
        result = dpo.model('hb.access.log', 'search_read',
            [('client', '=', self.ids['client1'])], 0, None, None,
            ['user.login', 'model', 'record', 'date'])
        self.assertIn('result', result, result)
        viewers = {r['user.']['login'] for r in result['result']
            if r.get('user.')}
        self.assertTrue({'worker', 'hb_admin'} <= viewers, viewers)
        self.assertNotIn('other_worker', viewers)
        # the worker may not see who else looked
        result = world.Rpc(self.client(), 'worker').model(
            'hb.access.log', 'search', [], 0, None, None)
        self.assertNotIn('result', result)
