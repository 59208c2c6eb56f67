# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo command (scripts/demo.sh, README's first command), end to end.

Runs it in a temporary folder on a free port: it must create the SQLite
database with Finnish and English and the demo data, serve sao, accept
common.db.login as admin with the generated password, switch the UI between
Finnish and English, stop on Ctrl-C (SIGINT), and start again in seconds."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from tests.browser import ARTIFACTS, ROOT, free_port

START_TIMEOUT = 600


class DemoCommandTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.var = tempfile.mkdtemp(prefix='hb-demo-test-')
        cls.port = free_port()
        cls.url = 'http://127.0.0.1:%d' % cls.port
        cls.env = {k: v for k, v in os.environ.items()
            if not k.startswith(('TRYTOND_', 'DB_'))}
        cls.env.update({
                'HB_DEMO_VAR': cls.var,
                'HB_DEMO_LISTEN': '127.0.0.1:%d' % cls.port,
                })
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.process, cls.cold_seconds = cls.start('demo-cold')

    @classmethod
    def tearDownClass(cls):
        cls.stop(cls.process)
        shutil.rmtree(cls.var, ignore_errors=True)

    @classmethod
    def start(cls, name):
        log = open(os.path.join(ARTIFACTS, name + '.log'), 'wb')
        start = time.monotonic()
        process = subprocess.Popen(
            ['bash', os.path.join(ROOT, 'scripts', 'demo.sh')],
            cwd=ROOT, env=cls.env, stdout=log, stderr=subprocess.STDOUT)
        while time.monotonic() - start < START_TIMEOUT:
            if process.poll() is not None:
                raise RuntimeError('the demo command exited with %s; see %s'
                    % (process.returncode, log.name))
            try:
                with urllib.request.urlopen(cls.url + '/', timeout=5):
                    return process, time.monotonic() - start
            except OSError:
                time.sleep(0.5)
        cls.stop(process)
        raise RuntimeError(
            'the demo did not serve within %s s' % START_TIMEOUT)

    @staticmethod
    def stop(process, timeout=20):
        "Stop as Ctrl-C does; return the seconds it took"
        start = time.monotonic()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
        return time.monotonic() - start

    def rpc(self, method, *params, session=None):
        request = urllib.request.Request(
            '%s/hb_demo/rpc/' % self.url,
            data=json.dumps({'id': 1, 'method': method, 'params': params})
            .encode('utf-8'),
            headers={'Content-Type': 'application/json'})
        if session:
            request.add_header('Authorization', session)
        with urllib.request.urlopen(request, timeout=60) as response:
            result = json.loads(response.read())
        self.assertFalse(result.get('error'), result.get('error'))
        return result['result']

    def login(self, login='admin'):
        import base64
        with open(os.path.join(self.var, 'admin-password')) as fp:
            password = fp.read().strip()
        self.assertGreaterEqual(len(password), 12)
        user_id, token, *_ = self.rpc(
            'common.db.login', login, {'password': password}, 'fi')
        return 'Session ' + base64.b64encode(
            ('%s:%s:%s' % (login, user_id, token)).encode()).decode()

    def check_users(self, session):
        """No first-login wizard for admin; each demo user logs in with
        the demo password and works in Finnish"""
        from trytond.modules.hb_avain.demo import USERS
        preferences = self.rpc(
            'model.res.user.get_preferences', False, {}, session=session)
        self.assertFalse(preferences.get('actions'))
        for login, _name, _role, _groups in USERS:
            preferences = self.rpc('model.res.user.get_preferences', False,
                {}, session=self.login(login))
            self.assertEqual(preferences['language'], 'fi', login)

    def top_menus(self, session, language):
        menus = self.rpc('model.ir.ui.menu.search_read',
            [('parent', '=', None)], 0, None, None, ['name'],
            {'language': language}, session=session)
        return {m['name'] for m in menus}

    def check_web_pages(self, session):
        """The public catalogue, the provider portal and a client page show
        the demo data"""
        import http.cookiejar
        import re
        kajaani, = self.rpc('model.hb.municipality.search_read',
            [('code', '=', '205')], 0, 1, None, ['id'], {}, session=session)
        avain, = self.rpc('model.hb.customer.group.search_read',
            [('code', '=', 'avain')], 0, 1, None, ['id'], {},
            session=session)
        with urllib.request.urlopen(
                '%s/hb_demo/hb/catalogue?municipality=%d&group=%d' % (
                    self.url, kajaani['id'], avain['id'])) as response:
            page = response.read().decode('utf-8')
        self.assertIn("Kajaanin Kotiapu Oy", page)

        def browser():
            return urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(
                    http.cookiejar.CookieJar()))

        def form_post(opener, path, data):
            page = opener.open(self.url + path).read().decode('utf-8')
            token = re.search(r'name="csrf_token" value="([^"]*)"',
                page).group(1)
            data = dict(data, csrf_token=token)
            with opener.open(self.url + path, data=urllib.parse.urlencode(
                        data).encode()) as response:
                return response.read().decode('utf-8')

        with open(os.path.join(self.var, 'admin-password')) as fp:
            password = fp.read().strip()
        portal = browser()
        page = form_post(portal, '/hb_demo/hb/provider/login', {
                'email': 'demo-1-kajaanin@example.com',
                'password': password})
        self.assertIn("Kajaanin Kotiapu Oy", page)

        client = browser()
        charge, = self.rpc('model.hb.charge.search_read',
            [('state', '=', 'captured'), ('representative', '=', None)],
            0, 1, None, ['client.hb_mobile'], {}, session=session)
        mobile = charge['client.']['hb_mobile']
        form_post(client, '/hb_demo/hb/client/login', {'mobile': mobile})
        message, = self.rpc('model.hb.sms.message.search_read',
            [('to', '=', mobile)], 0, 1, [('id', 'DESC')], ['text'], {},
            session=session)
        code = re.search(r'\b(\d{6})\b', message['text']).group(1)
        page = form_post(client, '/hb_demo/hb/client/login', {
                'mobile': mobile, 'code': code})
        self.assertIn('budget-', page)  # a budget section
        self.assertIn('HBC-', page)  # its transactions

    def test_demo(self):
        "The demo serves sao, logs admin in, speaks Finnish and English"
        # sao is served at the root
        with urllib.request.urlopen(self.url + '/') as response:
            page = response.read().decode('utf-8')
        self.assertIn('tryton-sao', page)

        session = self.login()
        # Finnish is the default language, English is available
        preferences = self.rpc(
            'model.res.user.get_preferences', False, {}, session=session)
        self.assertEqual(preferences['language'], 'fi')
        languages = self.rpc('model.ir.lang.search_read',
            [('translatable', '=', True)], 0, None, None, ['code'], {},
            session=session)
        self.assertEqual(
            {lang['code'] for lang in languages}, {'fi', 'sv', 'en'})
        self.assertIn(
            "Henkilökohtainen budjetti", self.top_menus(session, 'fi'))
        self.assertIn("Personal Budgets", self.top_menus(session, 'en'))

        # Switch the UI to English and back, as the preferences dialog does
        self.rpc('model.res.user.set_preferences', {'language': 'en'}, {},
            session=session)
        preferences = self.rpc(
            'model.res.user.get_preferences', False, {}, session=session)
        self.assertEqual(preferences['language'], 'en')
        self.rpc('model.res.user.set_preferences', {'language': 'fi'}, {},
            session=session)

        # The Kainuu demo data is there: in sao (through RPC) ...
        self.assertEqual(self.rpc('model.hb.municipality.search_count',
                [], {}, session=session), 8)
        for model, minimum in [('hb.budget', 10), ('hb.charge', 30),
                ('hb.avain.agreement', 5), ('hb.service.rating', 10)]:
            self.assertGreaterEqual(self.rpc(
                    'model.%s.search_count' % model, [], {},
                    session=session), minimum, model)
        bills = self.rpc('model.account.invoice.search_read',
            [('type', '=', 'in')], 0, None, None, ['state'], {},
            session=session)
        self.assertTrue(bills)
        # the bank's statement of the demo month (demo_bank.py) booked the
        # transfers of the payment run and returned one: those bills are
        # paid, the returned one is open again (posted), as is the billed
        # claim's bill that waits for the next payment run
        states = [b['state'] for b in bills]
        self.assertGreaterEqual(states.count('paid'), 1, states)
        self.assertGreaterEqual(states.count('posted'), 2, states)
        payments = self.rpc('model.account.payment.search_read',
            [], 0, None, None, ['state', 'amount'], {}, session=session)
        self.assertEqual(len(payments), len(bills) - 1)
        states = [p['state'] for p in payments]
        self.assertEqual(states.count('failed'), 1, states)
        self.assertGreaterEqual(states.count('succeeded'), 1, states)
        statements = self.rpc('model.account.statement.search_read',
            [], 0, None, None, ['state'], {}, session=session)
        self.assertEqual([s['state'] for s in statements], ['posted'])
        returns = self.rpc('model.hb.payment.return.search_read',
            [], 0, None, None, ['reason', 'state'], {}, session=session)
        self.assertEqual([(r['reason'], r['state']) for r in returns],
            [('AC04', 'held')])
        # the standing authorisation's claims in every state
        claims = self.rpc('model.hb.claim.search_read',
            [], 0, None, None, ['state'], {}, session=session)
        self.assertEqual(sorted(c['state'] for c in claims), [
                'captured', 'captured', 'captured', 'disputed', 'pending',
                'reduced', 'rejected'])
        self.check_web_pages(session)
        self.check_users(session)

        # Ctrl-C stops it; the second start reuses everything
        self.assertLess(self.stop(self.process), 20)
        self.assertIsNotNone(self.process.poll())
        process, warm_seconds = self.start('demo-warm')
        type(self).process = process
        print('\n    demo: cold start %.1f s, warm start %.1f s' % (
                self.cold_seconds, warm_seconds))
        self.assertLess(warm_seconds, 30)
        self.login()
