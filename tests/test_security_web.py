# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Web security of the pages served by trytond.

Crawls every page reachable from the public catalogue, the provider portal
(as provider A) and the client page, and checks on each: the security
headers, that stored hostile text never appears unescaped, that no HETU is
in a URL or a page; every form posted without (or with a wrong) CSRF token
is refused. Also: logout and session expiry, login rate limits, no HETU in
a log line or a vendor bill."""
import datetime
import logging
import re
from html.parser import HTMLParser
from unittest.mock import patch
from urllib.parse import urljoin, urlsplit

from sql import Literal
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction, TransactionError

from tests import test_security_access as world

SCRIPT = '<script>alert("hb")</script>'
HOSTILE = {
    'service description': 'Siivous ' + SCRIPT,
    'provider name': 'Provider B <script>alert("name")</script> Oy',
    'rating comment': 'Hyvä <img src=x onerror=alert(1)> palvelu',
    }
RAW = ['<script>alert', '<img src=x onerror']
HETU = re.compile(r'\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b')


class Page(HTMLParser):
    "The links and forms of an HTML page"

    def __init__(self):
        super().__init__()
        self.links, self.forms = [], []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'a' and attrs.get('href'):
            self.links.append(attrs['href'])
        elif tag == 'form':
            self._form = {
                'action': attrs.get('action') or '',
                'method': (attrs.get('method') or 'get').lower(),
                'fields': {}}
            self.forms.append(self._form)
        elif tag in {'input', 'select', 'textarea', 'button'} and (
                self._form is not None and attrs.get('name')):
            self._form['fields'].setdefault(
                attrs['name'], attrs.get('value') or '')

    def handle_endtag(self, tag):
        if tag == 'form':
            self._form = None


class WebSecurityTestCase(world.WorldTestCase):
    "CSRF, escaping, headers, sessions, rate limits, no HETU leaks"

    @classmethod
    def setUpWorld(cls):
        pool = Pool()
        Template = pool.get('product.template')
        Party = pool.get('party.party')
        Rating = pool.get('hb.service.rating')
        Template.write([Template(cls.ids['service_a'])], {
                'hb_description': HOSTILE['service description']})
        Party.write([Party(cls.ids['party_b'])], {
                'name': HOSTILE['provider name']})
        Rating.create([{
                    'client': cls.ids['client1'],
                    'service': cls.ids['service_b'],
                    'rating': 4,
                    'comment': HOSTILE['rating comment'],
                    }])

    def crawl(self, client, starts, limit=60):
        """Visit the pages under /<db>/hb/ reachable from starts; return
        {url: (response, Page)}"""
        base = '/%s/hb/' % DB_NAME
        seen, queue, pages = set(), list(starts), {}
        while queue and len(pages) < limit:
            url = queue.pop(0)
            path = urlsplit(url).path
            if (url in seen or not path.startswith(base)
                    or path.endswith(('logout', '.css', '.json'))
                    or '/api/' in path):
                continue
            seen.add(url)
            response = client.get(url)
            if not response.content_type.startswith('text/html'):
                continue
            page = Page()
            page.feed(response.get_data(as_text=True))
            pages[url] = (response, page)
            for link in page.links:
                queue.append(urljoin(url, link))
        return pages

    def all_pages(self):
        "Crawl as anonymous, provider A, provider B and the client"
        catalogue = self.url('catalogue') + '?municipality=%d&group=%d' % (
            self.ids['kajaani'], self.ids['avain'])
        starts = {
            'anonymous': [catalogue, self.url('provider/login'),
                self.url('provider/apply'), self.url('provider/password'),
                self.url('client'),
                self.url('catalogue/service/999999')],
            'provider_a': [self.url('provider'),
                self.url('provider/service/new')],
            'provider_b': [self.url('provider')],
            }
        crawled = {}
        for role, urls in starts.items():
            client = self.web_client(role)
            crawled[role] = (client, self.crawl(client, urls))
        return crawled

    def test_pages(self):
        """Every page: security headers, nothing hostile unescaped, no HETU
        in a URL or a page; every POST form has a CSRF token and refuses
        a post without it or with a wrong one"""
        wrong = []
        crawled = self.all_pages()
        n_pages = n_forms = 0
        for client, pages in crawled.values():
            for url, (response, page) in pages.items():
                n_pages += 1
                headers = response.headers
                csp = headers.get('Content-Security-Policy', '')
                if not csp or 'unsafe-inline' in csp:
                    wrong.append('%s: CSP %r' % (url, csp))
                if (headers.get('X-Frame-Options') != 'DENY'
                        and "frame-ancestors 'none'" not in csp):
                    wrong.append('%s: may be framed' % url)
                if not headers.get('Referrer-Policy'):
                    wrong.append('%s: no Referrer-Policy' % url)
                text = response.get_data(as_text=True)
                for raw in RAW:
                    if raw in text:
                        wrong.append('%s: unescaped %r' % (url, raw))
                for link in page.links + [f['action'] for f in page.forms]:
                    if HETU.search(link):
                        wrong.append('%s: HETU in link %s' % (url, link))
                if HETU.search(text):
                    wrong.append('%s: HETU on the page' % url)
                for form in page.forms:
                    if form['method'] != 'post':
                        continue
                    n_forms += 1
                    action = urljoin(url, form['action'] or url)
                    if 'csrf_token' not in form['fields']:
                        wrong.append('%s: form %s without CSRF token' % (
                                url, action))
                    for token in [None, 'forged-token']:
                        data = dict(form['fields'])
                        data.pop('csrf_token', None)
                        if token:
                            data['csrf_token'] = token
                        response = client.post(action, data=data)
                        if response.status_code != 403:
                            wrong.append('%s: form %s posted with CSRF '
                                'token %r: %s' % (url, action, token,
                                    response.status_code))
        # the hostile texts were shown (escaped) somewhere
        shown = ''.join(r.get_data(as_text=True)
            for _, pages in crawled.values() for r, _ in pages.values())
        for what, value in HOSTILE.items():
            if value.split('<')[0].strip() not in shown:
                wrong.append('%s never shown' % what)
        self.assertEqual(wrong, [], '\n'.join(wrong))
        self.assertGreaterEqual(n_pages, 8)
        self.assertGreaterEqual(n_forms, 4)
        print('\n    %d pages crawled, %d POST forms tried 2 ways' % (
                n_pages, n_forms))

    def test_logout_and_expiry(self):
        "Logout ends the session for good; an idle session expires"
        client = self.web_client('provider_a')
        response = client.get(self.url('provider'))
        self.assertEqual(response.status_code, 200)
        cookie = client.get_cookie('hb_provider_session', path='/%s/' % (
                DB_NAME))
        if cookie is None:
            cookie = [c for c in client._cookies.values()
                if c.key == 'hb_provider_session'][0]
        token = world.CSRF.search(response.get_data(as_text=True)).group(1)
        response = client.post(self.url('provider/logout'),
            data={'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(client.get(self.url('provider')).status_code, 302)
        # the old cookie is dead, not just forgotten by the browser
        replay = self.client()
        replay.set_cookie('hb_provider_session', cookie.value,
            path=cookie.path or '/')
        self.assertEqual(replay.get(self.url('provider')).status_code, 302)

        client = self.web_client('provider_b')
        self.assertEqual(client.get(self.url('provider')).status_code, 200)
        with Transaction().start(DB_NAME, 0) as transaction:
            Session = Pool().get('web.user.session')
            table = Session.__table__()
            old = datetime.datetime.now() - datetime.timedelta(days=2)
            transaction.connection.cursor().execute(*table.update(
                    [table.create_date, table.write_date],
                    [Literal(old), Literal(old)],
                    where=table.user == self.ids['web_user_b']))
            transaction.commit()
        self.assertEqual(client.get(self.url('provider')).status_code, 302)

    def test_portal_login_rate_limit(self):
        "Wrong passwords lock the portal login, the right one included"
        client = self.client()
        email = self.ids['email_a']
        statuses = []
        with patch('trytond.modules.web_user.user.time.sleep'):
            for i in range(8):
                response = client.get(self.url('provider/login'))
                token = world.CSRF.search(
                    response.get_data(as_text=True)).group(1)
                statuses.append(client.post(self.url('provider/login'),
                        data={'email': email, 'password': 'wrong-%d' % i,
                            'csrf_token': token}).status_code)
            response = self.portal_login(self.client(), 'provider_a')
        self.assertEqual(statuses[0], 401)
        self.assertEqual(statuses[-1], 429)
        self.assertEqual(response.status_code, 429)
        with Transaction().start(DB_NAME, 0) as transaction:
            Attempt = Pool().get('web.user.authenticate.attempt')
            Attempt.remove(email)
            transaction.commit()

    def test_client_login_rate_limit(self):
        """Wrong one-time codes lock the client page login (issue 5's
        client page at /<db>/hb/client/login)"""
        client = self.client()
        response = client.get(self.url('client/login'))
        self.assertEqual(response.status_code, 200,
            'no client login page at /hb/client/login')
        match = world.CSRF.search(response.get_data(as_text=True))
        token = match.group(1) if match else ''
        client.post(self.url('client/login'), data={
                'mobile': world.MOBILE_2, 'csrf_token': token})
        statuses = [client.post(self.url('client/login'), data={
                    'mobile': world.MOBILE_2, 'code': '%06d' % i,
                    'csrf_token': token}).status_code for i in range(12)]
        self.assertEqual(statuses[-1], 429, statuses)

    def test_no_hetu_in_logs_or_bills(self):
        """No HETU in a log line (RPC by own-worker incl. a HETU search,
        portal, API) nor in a vendor bill"""
        records = []

        class Handler(logging.Handler):
            def emit(self, record):
                records.append(self.format(record))
        handler = Handler(logging.INFO)
        handler.setFormatter(logging.Formatter('%(name)s %(message)s'))
        root = logging.getLogger()
        level = root.level
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            rpc = world.Rpc(self.client(), 'worker')
            rpc.model('party.party', 'search',
                [('hb_hetu', '=', self.ids['hetu1'])], 0, None, None)
            rpc.model('party.party', 'read', [self.ids['client1']],
                ['hb_hetu', 'name'])
            rpc.model('party.party', 'search',
                [('rec_name', 'ilike', '%' + self.ids['hetu2'] + '%')],
                0, None, None)
            self.all_pages()
            self.client().get('/%s/hb/api/v1/charges/%d' % (
                    DB_NAME, self.ids['charge_a']), headers={
                    'Authorization': 'Bearer %s' % self.ids['key_a']})
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
        self.assertTrue(records)
        leaks = [r for r in records if HETU.search(r)]
        self.assertEqual(leaks, [], 'HETU in log lines')

        def bill_texts():
            "Bill the charges; return the texts of the bills"
            pool = Pool()
            Charge = pool.get('hb.charge')
            Invoice = pool.get('account.invoice')
            with Transaction().set_context(company=self.ids['company']):
                Charge.bill_providers(
                    end_date=datetime.date.today() + datetime.timedelta(1))
                invoices = Invoice.search([('type', '=', 'in')])
                self.assertTrue(invoices)
                texts = []
                for invoice in invoices:
                    texts += [invoice.reference or '',
                        invoice.description or '', invoice.rec_name]
                    texts += [line.description or ''
                        for line in invoice.lines]
            return texts
        # Posting needs table locks: retry as Tryton's dispatcher does;
        # roll back so that the world stays as it was
        extras = {}
        while True:
            with Transaction().start(DB_NAME, 0, **extras) as transaction:
                try:
                    texts = bill_texts()
                except TransactionError as exception:
                    transaction.rollback()
                    exception.fix(extras)
                    continue
                transaction.rollback()
                break
        hetus = [self.ids['hetu1'], self.ids['hetu2']]
        self.assertFalse([t for t in texts if any(h in t for h in hetus)])
        self.assertFalse([t for t in texts if 'Asiakas' in t],
            'client name on a vendor bill')
