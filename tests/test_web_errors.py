# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Issue 15 (5, 11) and issue 12 (error pages): every entry point under
/<database>/hb/ answers a bad id, body, method, size or origin with a 4xx
in its own format (the HTML error page with the site's layout in the
page's language, or the JSON API's error object with its code), with the
security headers, HSTS over https, and never an exception's text; an
idempotency key reused with another body is refused with 422."""
import json
import re
from unittest.mock import patch

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from tests import test_security_access as world

BIG = '100000000000000000000'  # beyond 64 bits
BEYOND_INT = str(2 ** 31)  # beyond the database's INTEGER
# What an answer must never show: the text of an exception
LEAKS = re.compile(
    r'Traceback|Exception|Error:|out of range|too large to convert|'
    r'Unable to get RPC|psycopg|sqlite|OverflowError|RecursionError|'
    r'secret detail', re.IGNORECASE)
SECURITY_HEADERS = {
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    }


def tx(**context):
    return Transaction().start(DB_NAME, 0, context=context)


class WebErrorsTestCase(world.WorldTestCase):
    "Refusals in each entry point's own format, with the headers"

    def text(self, message_id, language='fi', **variables):
        with tx(language=language):
            return gettext(message_id, **variables)

    def check_headers(self, response, label, wrong):
        csp = response.headers.get('Content-Security-Policy', '')
        if "default-src 'none'" not in csp:
            wrong.append('%s: CSP %r' % (label, csp))
        for name, value in SECURITY_HEADERS.items():
            if response.headers.get(name) != value:
                wrong.append('%s: %s %r' % (
                        label, name, response.headers.get(name)))

    def check_page(self, response, status, label, wrong, language='fi',
            message_id=None):
        """response is the HTML error page of status in language, with the
        site's header, the security headers and no exception text"""
        body = response.get_data(as_text=True)
        if response.status_code != status:
            wrong.append('%s: status %s, expected %s' % (
                    label, response.status_code, status))
        if not response.content_type.startswith('text/html'):
            wrong.append('%s: %s, not a page' % (
                    label, response.content_type))
        if 'class="site-header"' not in body:
            wrong.append('%s: without the site header' % label)
        if '<html lang="%s">' % language not in body:
            wrong.append('%s: not in %s' % (label, language))
        if message_id and self.text(message_id, language) not in body:
            wrong.append('%s: without %s in %s' % (
                    label, message_id, language))
        if LEAKS.search(body):
            wrong.append('%s: shows %r' % (
                    label, LEAKS.search(body).group(0)))
        self.check_headers(response, label, wrong)

    def check_api(self, response, status, code, label, wrong):
        "response is the API's JSON error of code, with the headers"
        body = response.get_data(as_text=True)
        data = response.get_json(silent=True) or {}
        error = data.get('error') if isinstance(data, dict) else None
        if response.status_code != status or not isinstance(error, dict) \
                or error.get('code') != code:
            wrong.append('%s: %s %s, expected %s %s' % (
                    label, response.status_code, body[:200], status, code))
        elif error.get('message') != self.text(
                'hb_voucher.msg_charge_%s' % code, 'en'):
            wrong.append('%s: message %r' % (label, error.get('message')))
        if not response.content_type.startswith('application/json'):
            wrong.append('%s: %s, not JSON' % (label, response.content_type))
        if LEAKS.search(body):
            wrong.append('%s: shows %r' % (
                    label, LEAKS.search(body).group(0)))
        self.check_headers(response, label, wrong)

    def api(self, client, method, path, body=None, raw=None, **headers):
        headers.setdefault('Content-Type', 'application/json')
        headers.setdefault('Accept-Language', 'en')
        headers.setdefault('Authorization', 'Bearer %s' % self.ids['key_a'])
        data = raw if raw is not None else (
            json.dumps(body) if body is not None else None)
        return client.open(
            '/%s/hb/api/v1/%s' % (DB_NAME, path), method=method,
            headers=headers, data=data)

    def charge_body(self, quantity=1, service=None, key='web-errors',
            **extra):
        return {
            'mobile': world.MOBILE_1, 'idempotency_key': key,
            'lines': [{
                    'service': (self.ids['product_a']
                        if service is None else service),
                    'quantity': quantity}],
            **extra}

    def charge_count(self):
        with tx():
            return Pool().get('hb.charge').search([], count=True)

    def test_ids_beyond_the_database(self):
        """Ids beyond 64 bits (or the database's integer) in a path, a
        query or a form: a 4xx page or JSON error, never a 500"""
        wrong = []
        anonymous = self.client()
        provider = self.web_client('provider_a')
        client = self.web_client('client')
        for big in [BIG, BEYOND_INT]:
            self.check_page(anonymous.get(
                    self.url('catalogue/service/%s' % big)), 404,
                'service page %s' % big, wrong,
                message_id='hb_marketplace.msg_page_not_found')
            self.check_page(anonymous.get(
                    self.url('catalogue/compare?service=%s' % big)), 400,
                'compare %s' % big, wrong)
            self.check_page(anonymous.get(self.url(
                        'catalogue?municipality=%s&group=%d' % (
                            big, self.ids['avain']))), 400,
                'catalogue municipality %s' % big, wrong,
                message_id='hb_marketplace.msg_page_bad_id')
            self.check_page(anonymous.get(self.url(
                        'catalogue?municipality=%d&group=%d&category=%s' % (
                            self.ids['kajaani'], self.ids['avain'], big))),
                400, 'catalogue category %s' % big, wrong)
            for path in ['provider/service/%s', 'provider/terminal/%s']:
                self.check_page(provider.get(self.url(path % big)), 404,
                    'portal %s' % (path % big), wrong)
            self.check_page(provider.post(
                    self.url('provider/terminal/%s/confirm' % big)), 404,
                'portal confirm %s' % big, wrong)
            self.check_page(client.post(
                    self.url('client/charge/%s/confirm' % big)), 404,
                'client confirm %s' % big, wrong)
            self.check_api(self.api(anonymous, 'GET', 'charges/%s' % big),
                404, 'not_found', 'API GET charge %s' % big, wrong)
            self.check_api(self.api(anonymous, 'POST',
                    'charges/%s/confirm' % big, {'code': '123456'}),
                404, 'not_found', 'API confirm %s' % big, wrong)
        # the portal's terminal form with a service beyond any id
        response = provider.get(self.url('provider/terminal'))
        token = world.CSRF.search(response.get_data(as_text=True)).group(1)
        response = provider.post(self.url('provider/terminal'), data={
                'csrf_token': token, 'mobile': world.MOBILE_1,
                'service': BIG, 'quantity': '1'})
        body = response.get_data(as_text=True)
        if response.status_code != 400 or LEAKS.search(body):
            wrong.append('terminal form service %s: %s' % (
                    BIG, response.status_code))
        self.check_headers(response, 'terminal form', wrong)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_api_bodies(self):
        """Deep nesting and huge numbers in the JSON body: the API's JSON
        error with its code, nothing charged"""
        wrong = []
        client = self.client()
        before = self.charge_count()
        deep = '{"a":' * 100000 + '1' + '}' * 100000
        rows = [
            ('100,000 levels', deep, 'invalid_json'),
            ('array 100,000 levels', '[' * 100000 + ']' * 100000,
                'invalid_json'),
            ('20 levels', json.dumps(self.charge_body(
                        extra=json.loads('[' * 20 + ']' * 20))),
                'invalid_json'),
            ('service 10^30', json.dumps(self.charge_body(
                        service=10 ** 30)), 'invalid_request'),
            ('service 2^31', json.dumps(self.charge_body(
                        service=2 ** 31)), 'invalid_request'),
            ('service 10^100', json.dumps(self.charge_body(
                        service=10 ** 100)), 'invalid_json'),
            ('quantity 1e400', json.dumps(self.charge_body()).replace(
                    '"quantity": 1', '"quantity": 1e400'),
                'invalid_quantity'),
            ('quantity NaN', json.dumps(self.charge_body()).replace(
                    '"quantity": 1', '"quantity": NaN'), 'invalid_json'),
            ]
        for label, raw, code in rows:
            response = self.api(client, 'POST', 'charges', raw=raw)
            if code == 'invalid_quantity':
                # the message names the quantity
                body = response.get_json(silent=True) or {}
                if (response.status_code != 400
                        or body.get('error', {}).get('code') != code):
                    wrong.append('%s: %s %s' % (
                            label, response.status_code,
                            response.get_data(as_text=True)[:200]))
                self.check_headers(response, label, wrong)
                continue
            self.check_api(response, 400, code, label, wrong)
        self.assertEqual(self.charge_count(), before)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_cross_site_post(self):
        "A POST with a foreign Origin: 403 in each format, with the headers"
        wrong = []
        client = self.client()
        evil = {'Origin': 'https://evil.example'}
        for path in ['provider/login', 'provider/apply', 'client/login']:
            self.check_page(client.post(self.url(path), headers=evil,
                    data={'email': 'a@example.com'}), 403,
                'page %s' % path, wrong,
                message_id='hb_marketplace.msg_page_forbidden')
        before = self.charge_count()
        self.check_api(self.api(client, 'POST', 'charges',
                self.charge_body(key='evil'), Origin='https://evil.example'),
            403, 'forbidden_origin', 'API charges', wrong)
        self.assertEqual(self.charge_count(), before)
        # the site's own origin is not refused
        response = client.get(self.url('provider/login'),
            headers={'Origin': 'http://localhost'})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_error_pages(self):
        """404, 405, 413: the site's page in the page's language with the
        security headers; the API's JSON error with its code"""
        wrong = []
        client = self.client()
        big_form = {'email': 'x' * (3 * 1024 * 1024), 'password': 'x'}
        for language, headers, query in [
                ('fi', {}, ''),
                ('en', {'Accept-Language': 'en'}, ''),
                ('en', {}, '?lang=en'),
                ]:
            label = '%s%s' % (language, query)
            self.check_page(client.get(self.url('no/such/page' + query),
                    headers=headers), 404, '404 ' + label, wrong, language,
                'hb_marketplace.msg_page_not_found')
            self.check_page(client.get(self.url('nothing' + query),
                    headers=headers), 404, '404 top ' + label, wrong,
                language, 'hb_marketplace.msg_page_not_found')
            response = client.get(self.url('provider/logout' + query),
                headers=headers)
            self.check_page(response, 405, '405 ' + label, wrong, language,
                'hb_marketplace.msg_page_method_not_allowed')
            if 'POST' not in response.headers.get('Allow', ''):
                wrong.append('405 %s: Allow %r' % (
                        label, response.headers.get('Allow')))
            self.check_page(client.post(self.url('provider/login' + query),
                    headers=headers, data=big_form), 413, '413 ' + label,
                wrong, language, 'hb_marketplace.msg_page_too_large')
        self.check_api(self.api(client, 'POST', 'charges',
                raw='{"mobile": "%s"}' % ('1' * (3 * 1024 * 1024))),
            413, 'too_large', 'API 413', wrong)
        self.check_api(self.api(client, 'PUT', 'charges/1/confirm',
                {'code': '123456'}), 405, 'method_not_allowed', 'API 405',
            wrong)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_server_error(self):
        """An unexpected exception: 500 as the site's page or the API's
        JSON error, nothing of the exception shown, nothing kept"""
        wrong = []
        client = self.client()
        pool = Pool(DB_NAME)
        Template = pool.get('product.template')
        Charge = pool.get('hb.charge')
        catalogue = self.url('catalogue?municipality=%d&group=%d' % (
                self.ids['kajaani'], self.ids['avain']))
        with patch.object(Template, 'hb_catalogue_page',
                side_effect=RuntimeError('secret detail 42')):
            for language, query in [('fi', ''), ('en', '&lang=en')]:
                self.check_page(client.get(catalogue + query), 500,
                    '500 ' + language, wrong, language,
                    'hb_marketplace.msg_page_server_error')
        before = self.charge_count()
        with patch.object(Charge, 'request',
                side_effect=ValueError('secret detail 43')):
            self.check_api(self.api(client, 'POST', 'charges',
                    self.charge_body(key='boom')), 500, 'internal_error',
                'API 500', wrong)
        self.assertEqual(self.charge_count(), before)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_hsts(self):
        """Strict-Transport-Security when the request came over https (as
        trytond sees it: X-Forwarded-Proto only with [web] num_proxies,
        0 in the tests)"""
        client = self.client()
        for path in ['catalogue', 'provider/login', 'no/such/page']:
            response = client.get(self.url(path),
                base_url='https://localhost')
            self.assertIn('max-age=',
                response.headers.get('Strict-Transport-Security', ''), path)
            response = client.get(self.url(path))
            self.assertNotIn('Strict-Transport-Security', response.headers)
            response = client.get(self.url(path),
                headers={'X-Forwarded-Proto': 'https'})
            self.assertNotIn('Strict-Transport-Security', response.headers)
        response = client.get(
            '/%s/hb/api/v1/charges' % DB_NAME, base_url='https://localhost',
            headers={'Authorization': 'Bearer %s' % self.ids['key_a']})
        self.assertEqual(response.status_code, 200)
        self.assertIn('max-age=',
            response.headers.get('Strict-Transport-Security', ''))

    def test_idempotency_key_reused(self):
        """The same key with another body: 422 idempotency_key_reused,
        nothing charged; with the same body (in other words): the first
        charge, 200"""
        client = self.client()
        first = self.api(client, 'POST', 'charges',
            self.charge_body(quantity=2, key='reuse-1'))
        self.assertEqual(first.status_code, 201, first.get_data())
        charge_id = first.get_json()['id']
        before = self.charge_count()
        wrong = []
        for label, body in [
                ('5 instead of 2', self.charge_body(
                        quantity=5, key='reuse-1')),
                ('another service', self.charge_body(
                        quantity=2, service=self.ids['product_b'],
                        key='reuse-1')),
                ('another client', dict(self.charge_body(
                            quantity=2, key='reuse-1'),
                        mobile=world.MOBILE_2)),
                ]:
            response = self.api(client, 'POST', 'charges', body)
            self.check_api(response, 422, 'idempotency_key_reused', label,
                wrong)
        self.assertEqual(wrong, [], '\n'.join(wrong))
        self.assertEqual(self.charge_count(), before)
        for quantity in [2, '2.00', 2.0]:
            again = self.api(client, 'POST', 'charges',
                self.charge_body(quantity=quantity, key='reuse-1'))
            self.assertEqual(again.status_code, 200, quantity)
            self.assertEqual(again.get_json()['id'], charge_id)
            self.assertEqual(again.get_json()['amount'],
                first.get_json()['amount'])
        self.assertEqual(self.charge_count(), before)

    def test_openapi_documents_errors(self):
        "The OpenAPI document lists the new codes and statuses"
        response = self.client().get(
            '/%s/hb/api/v1/openapi.json' % DB_NAME)
        document = response.get_json()
        codes = document['components']['schemas']['Error']['properties'][
            'error']['properties']['code']['enum']
        for code in ['idempotency_key_reused', 'forbidden_origin',
                'method_not_allowed', 'too_large', 'internal_error']:
            self.assertIn(code, codes)
        responses = document['paths']['/charges']['post']['responses']
        for status in ['403', '413', '422', '500']:
            self.assertIn(status, responses)
        self.assertIn('idempotency', responses['422']['description'])
