# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The provider portal's CSV upload of claims shows its progress (issue
14), in Finnish, Swedish and English"""
import re

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME

from trytond.modules.hb_budget.tests.tools import module_po_path
from trytond.modules.hb_marketplace.tests.tools import set_password

from .test_claim import make_world
from .test_claim_api import EMAIL, PASSWORD
from .test_e2e import _RouteCase
from .test_portal import csrf_token
from .tools import create_wellbeing_area


class ClaimUploadPageTestCase(_RouteCase):
    "The CSV upload form of the provider portal's claims"
    budget_amount = '500.00'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        with set_company(create_wellbeing_area()):
            _, application, _, _, _, _ = make_world()
            set_password(application.web_user, PASSWORD)
        for code in ('fi', 'sv'):
            lang, = Lang.search([('code', '=', code)])
            if not lang.translatable:
                lang.translatable = True
                lang.save()
            Translation.translation_import(
                code, 'hb_voucher', module_po_path('hb_voucher', code))

    def portal_login(self):
        client = self.client()
        url = '/%s/hb/provider/login' % DB_NAME
        response = client.get(url)
        response = client.post(url, data={
                'email': EMAIL, 'password': PASSWORD,
                'csrf_token': csrf_token(response)})
        self.assertEqual(response.status_code, 302)
        return client

    def test_portal_upload_progress(self):
        """The upload form says, in the page's language, that the file is
        being processed (its script, allowed on the claims page alone)"""
        client = self.portal_login()
        texts = {
            'en': 'Processing {rows} rows… Keep this page open',
            'fi': 'Käsitellään {rows} riviä… Pidä tämä sivu auki',
            'sv': '{rows} rader behandlas… Håll sidan öppen',
            }
        for lang, text in texts.items():
            response = client.get(
                '/%s/hb/provider/claims?lang=%s' % (DB_NAME, lang))
            self.assertEqual(response.status_code, 200)
            page = response.get_data(as_text=True)
            self.assertIn('id="upload-form"', page)
            status, = re.findall(r'<p id="upload-status"[^>]*>', page)
            self.assertIn(' hidden ', status)
            self.assertIn('role="status"', status)
            self.assertIn('data-max-rows="10000"', status)
            self.assertIn(text, status)
            self.assertIn('<script src="/%s/hb/static/hb_voucher/'
                'claims_upload.js" defer></script>' % DB_NAME, page)
            self.assertIn("script-src 'self'",
                response.headers['Content-Security-Policy'])
            if lang == 'fi':
                # how long it takes
                self.assertIn('käsittely kestää enintään minuutin', page)
        script = client.get(
            '/%s/hb/static/hb_voucher/claims_upload.js' % DB_NAME)
        self.assertEqual(script.status_code, 200)
        self.assertTrue(script.content_type.startswith('text/javascript'))
        body = script.get_data(as_text=True)
        self.assertIn("getElementById('upload-status')", body)
        self.assertIn("'{rows}'", body)
        # the other pages run no script
        other = client.get('/%s/hb/provider?lang=en' % DB_NAME)
        self.assertNotIn('script-src',
            other.headers['Content-Security-Policy'])
