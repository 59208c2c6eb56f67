# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The public pages as clients and providers read them (issue 12, items 3
and 5), through trytond's WSGI application.

Every public page in Finnish, Swedish and English: the page's language,
no message left in English on a Finnish or Swedish page, every message
of the pages translated in locale/sv.po; numbers, money and dates written
the way of the language; one term for the service category; the rulebook
readable before it is accepted; the accessibility statement, the privacy
notice and the contact page with texts of the settings, linked from every
page; the wellbeing area's name and logo on every page; the SMS and the
decision letter in Swedish for a Swedish-speaking client."""
import datetime
import html as html_module
import io
import os
import re
import zipfile
from decimal import Decimal

import polib
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, _DBTestCase, with_transaction
from trytond.transaction import Transaction

from tests import test_security_access as world
from trytond.modules.hb_marketplace.portal import Formatter
from trytond.modules.hb_marketplace.tests.tools import CachedLanguages
from trytond.modules.hb_voucher.tests.tools import (
    CRITERIA,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    run_in_transaction,
    setup_hb,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE_MODULES = ['hb_marketplace', 'hb_voucher']
LANGUAGES = ['fi', 'sv', 'en']
# A 1x1 PNG
PNG = bytes.fromhex(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44'
    'ae426082')
TAG = re.compile(r'<[^>]+>')
ATTRIBUTE = re.compile(
    r'(?:aria-label|alt|title|placeholder|data-label)="([^"]*)"')
VARIABLE = re.compile(r'%\([a-z_]+\)s')
ISO_DATE = re.compile(r'\b20\d\d-\d\d-\d\d\b')


def po_entries(module, lang):
    path = os.path.join(ROOT, 'addons', module, 'locale', '%s.po' % lang)
    return polib.pofile(path)


def page_text(html):
    "The text a reader meets: the text between tags and the attributes"
    return html_module.unescape(
        TAG.sub(' ', html) + ' ' + ' '.join(ATTRIBUTE.findall(html)))


def english_fragments():
    """Return the English fragments of every message of the pages that a
    translated page must not show: the text between variables, long
    enough not to be a name or a code"""
    fragments = set()
    for module in PAGE_MODULES:
        sv = {e.msgctxt: e.msgstr for e in po_entries(module, 'sv')}
        fi = {e.msgctxt: e.msgstr for e in po_entries(module, 'fi')}
        for entry in po_entries(module, 'fi'):
            if not entry.msgctxt.startswith('model:ir.message,text:'):
                continue
            for fragment in VARIABLE.split(entry.msgid):
                fragment = fragment.strip(' .,:;()')
                if (len(fragment) >= 12 and ' ' in fragment
                        and fragment not in sv.get(entry.msgctxt, '')
                        and fragment not in fi.get(entry.msgctxt, '')):
                    fragments.add(fragment)
    return fragments


class PublicPagesTestCase(CachedLanguages, world.WorldTestCase):
    "Every public page in fi, sv and en, with the settings' texts"
    languages = ('fi', 'sv')

    @classmethod
    def setUpWorld(cls):
        pool = Pool()
        Rating = pool.get('hb.service.rating')
        # Two ratings: 3.5 on average
        Rating.create([{
                    'client': cls.ids['client%d' % i],
                    'service': cls.ids['service_a'],
                    'rating': rating,
                    } for i, rating in [(1, 4), (2, 3)]])

    def pages(self):
        "Return (name, client, path) of every public page"
        anonymous = self.client()
        catalogue = 'catalogue?municipality=%d&group=%d' % (
            self.ids['kajaani'], self.ids['avain'])
        pages = [
            ('catalogue', anonymous, 'catalogue'),
            ('results', anonymous, catalogue),
            ('empty', anonymous, 'catalogue?municipality=%d&group=%d' % (
                    self.ids['kuhmo'], self.ids['avain'])),
            ('service', anonymous, 'catalogue/service/%d'
                % self.ids['service_a']),
            ('compare', anonymous, 'catalogue/compare?service=%d&service=%d'
                % (self.ids['service_a'], self.ids['service_b'])),
            ('apply', anonymous, 'provider/apply'),
            ('login', anonymous, 'provider/login'),
            ('password', anonymous, 'provider/password'),
            ('client login', anonymous, 'client/login'),
            ]
        pages += [('info ' + n, anonymous, 'info/' + n) for n in [
                'rulebook', 'accessibility', 'privacy', 'contact']]
        provider = self.web_client('provider_a')
        pages += [('portal ' + p, provider, ('provider/' + p).rstrip('/'))
            for p in [
                '', 'service/%d' % self.ids['service_a'], 'service/new',
                'terminal', 'charges', 'bills', 'keys']]
        client = self.web_client('client')
        pages += [('client page', client, 'client'),
            # the forms' choices, listed on asking
            ('client page, providers', client, 'client?auth_new=1'),
            ('client page, services to rate', client, 'client?rate=1')]
        return pages

    def get(self, client, path, lang):
        separator = '&' if '?' in path else '?'
        response = client.get(self.url(path) + separator + 'lang=' + lang)
        self.assertEqual(response.status_code, 200, (path, lang))
        return response.get_data(as_text=True)

    def test_every_message_translated_to_swedish(self):
        """Every message of the pages, SMS, emails and letter has a
        Swedish translation in locale/sv.po, loaded in the database"""
        for module in ['hb_budget', 'hb_marketplace', 'hb_voucher',
                'hb_avain']:
            sv = {e.msgctxt: e for e in po_entries(module, 'sv')}
            for entry in po_entries(module, 'fi'):
                if (entry.msgctxt.startswith('model:ir.message,text:')
                        or entry.msgctxt.startswith('report:')):
                    with self.subTest(module=module, msg=entry.msgctxt):
                        translated = [e for e in po_entries(module, 'sv')
                            if e.msgctxt == entry.msgctxt
                            and e.msgid == entry.msgid] if (
                                entry.msgctxt.startswith('report:')) else [
                            sv.get(entry.msgctxt)]
                        self.assertTrue(translated and translated[0]
                            and translated[0].msgstr.strip())
                        self.assertFalse(translated[0].fuzzy)
                        # the same variables in both
                        self.assertEqual(
                            sorted(VARIABLE.findall(entry.msgid)),
                            sorted(VARIABLE.findall(translated[0].msgstr)))
        # Loaded: the database answers in Swedish
        with Transaction().start(DB_NAME, 0):
            from trytond.i18n import gettext
            with Transaction().set_context(language='sv'):
                self.assertEqual(
                    gettext('hb_marketplace.msg_page_sort_price'),
                    "Pris, billigast först")
                self.assertEqual(gettext('hb_voucher.msg_client_title'),
                    "Min personliga budget")

    def test_pages_in_each_language(self):
        """Every public page renders in fi, sv and en with its lang and no
        English message on a Finnish or Swedish page"""
        fragments = english_fragments()
        self.assertGreater(len(fragments), 100)
        for name, client, path in self.pages():
            for lang in LANGUAGES:
                with self.subTest(page=name, lang=lang):
                    html = self.get(client, path, lang)
                    self.assertIn('<html lang="%s">' % lang, html)
                    if lang == 'en':
                        continue
                    text = page_text(html)
                    leaks = sorted(f for f in fragments if f in text)
                    self.assertFalse(leaks, "English on the %s page %s" % (
                            lang, path))
                    # no message id shown instead of a text
                    self.assertNotRegex(text, r'\bmsg_[a-z_]+')

    def test_language_switch(self):
        "Every page offers the two other languages of fi, sv and en"
        html = self.get(self.client(), 'catalogue', 'fi')
        self.assertIn('hreflang="sv">På svenska</a>', html)
        self.assertIn('hreflang="en">In English</a>', html)
        self.assertNotIn('hreflang="fi"', html)
        html = self.get(self.client(), 'catalogue', 'sv')
        self.assertIn('Hitta tjänster för din personliga budget', html)
        self.assertIn('hreflang="fi">Suomeksi</a>', html)
        # The browser's Swedish preference chooses Swedish
        response = self.client().get(self.url('catalogue'),
            headers={'Accept-Language': 'sv-FI,sv;q=0.9'})
        self.assertIn('<html lang="sv">', response.get_data(as_text=True))
        # An applicant may choose Swedish as the language of contact
        html = self.get(self.client(), 'provider/apply', 'sv')
        self.assertIn('<option value="sv" selected>svenska</option>', html)

    def test_number_and_date_formats(self):
        "Ratings, prices and dates are written the way of the language"
        client = self.client()
        path = 'catalogue?municipality=%d&group=%d' % (
            self.ids['kajaani'], self.ids['avain'])
        html = self.get(client, path, 'fi')
        self.assertIn('3,5 / 5 (2 arviota)', html)
        self.assertIn('35,00\u00a0€', html)
        self.assertNotIn('3.5 / 5', html)
        html = self.get(client, path, 'sv')
        self.assertIn('3,5 / 5 (2 bedömningar)', html)
        self.assertIn('35,00\u00a0€', html)
        html = self.get(client, path, 'en')
        self.assertIn('3.5 / 5 (2 ratings)', html)
        self.assertIn('€35.00', html)
        html = self.get(client, 'catalogue/service/%d'
            % self.ids['service_a'], 'sv')
        self.assertIn('3,5 / 5', html)
        # Dates: d.m.yyyy in Finnish and Swedish on the portal and the
        # client page, never ISO
        for role, path in [('provider_a', 'provider'),
                ('provider_a', 'provider/charges'), ('client', 'client')]:
            web = self.web_client(role)
            for lang in ['fi', 'sv']:
                with self.subTest(path=path, lang=lang):
                    html = self.get(web, path, lang)
                    self.assertFalse(ISO_DATE.findall(page_text(html)),
                        path)
                    self.assertRegex(
                        page_text(html), r'\b\d{1,2}\.\d{1,2}\.20\d\d\b')

    def test_formatter(self):
        "One formatter per language for numbers, money and dates"
        day = datetime.date(2026, 12, 1)
        for lang, number, money, date, quantity in [
                ('fi', '1\u00a0234,5', '1\u00a0234,50\u00a0€', '1.12.2026',
                    '1,5'),
                ('sv', '1\u00a0234,5', '1\u00a0234,50\u00a0€', '1.12.2026',
                    '1,5'),
                ('en', '1,234.5', '€1,234.50', '2026-12-01', '1.5'),
                ]:
            formats = Formatter(lang)
            self.assertEqual(formats.number(Decimal('1234.5'), 1), number)
            self.assertEqual(formats.money(Decimal('1234.5')), money)
            self.assertEqual(formats.day(day), date)
            self.assertEqual(
                formats.day(datetime.datetime(2026, 12, 1, 10)), date)
            self.assertEqual(formats.quantity(Decimal('1.50')), quantity)
            self.assertEqual(formats.money(None), '')

    def test_one_category_term(self):
        """The service category is "Palveluluokka" on every page, as in
        the web client, never "Palveluryhmä"""
        for module in ['hb_budget', 'hb_marketplace', 'hb_voucher',
                'hb_avain']:
            for entry in po_entries(module, 'fi'):
                self.assertNotIn('palveluryhm', entry.msgstr.lower(),
                    (module, entry.msgctxt))
        for name, client, path in self.pages():
            with self.subTest(page=name):
                text = page_text(self.get(client, path, 'fi')).lower()
                self.assertNotIn('palveluryhm', text)
        for path in ['catalogue', 'catalogue/service/%d'
                % self.ids['service_a'], 'provider/apply']:
            self.assertIn('Palveluluokka', self.get(
                    self.client(), path, 'fi'))

    def test_rulebook_readable_before_accepting(self):
        """The application links to the rulebook and shows it before the
        checkbox accepting it; the rulebook of the settings, translated"""
        html = self.get(self.client(), 'provider/apply', 'fi')
        link = html.index('href="/%s/hb/info/rulebook?lang=fi"' % DB_NAME)
        self.assertLess(link, html.index('id="rulebook_accepted"'))
        # The built-in text when the settings have none
        self.assertIn('palvelusetelilaki 569/2009', html)
        html = self.get(self.client(), 'info/rulebook', 'sv')
        self.assertIn('Regelbok för serviceproducenter', html)
        self.assertIn('lagen om servicesedlar 569/2009', html)

        def set_rulebook():
            Configuration = Pool().get('hb.configuration')
            for lang, text in [('fi', "Sääntökirja: ehdot"),
                    ('sv', "Regelbok: villkor")]:
                with Transaction().set_context(language=lang):
                    Configuration.write([Configuration(1)],
                        {'hb_rulebook': text})
        run_in_transaction(set_rulebook)
        try:
            self.assertIn("Regelbok: villkor",
                self.get(self.client(), 'info/rulebook', 'sv'))
            html = self.get(self.client(), 'provider/apply', 'fi')
            self.assertIn("Sääntökirja: ehdot", html)
        finally:
            run_in_transaction(self.clear_settings)

    @staticmethod
    def clear_settings():
        Configuration = Pool().get('hb.configuration')
        for lang in ['fi', 'sv', 'en']:
            with Transaction().set_context(language=lang):
                Configuration.write([Configuration(1)], {
                        'hb_rulebook': None, 'hb_accessibility': None,
                        'hb_privacy': None, 'hb_contact': None,
                        'hb_area_name': None, 'hb_logo': None,
                        })

    def test_info_pages_from_settings(self):
        """The accessibility statement, privacy notice and contact page:
        built-in texts, or the settings' in the page language; linked
        from every page's footer"""
        expected = {
            'accessibility': ('Saavutettavuusseloste',
                'Tillgänglighetsutlåtande', 'WCAG 2.1'),
            'privacy': ('Tietosuojaseloste', 'Dataskyddsbeskrivning',
                'dataombudsmannen'),
            'contact': ('Yhteystiedot', 'Kontaktuppgifter',
                'egen kontaktperson'),
            }
        for name, (fi, sv, builtin_sv) in expected.items():
            self.assertIn('<h1>%s</h1>' % fi,
                self.get(self.client(), 'info/' + name, 'fi'))
            html = self.get(self.client(), 'info/' + name, 'sv')
            self.assertIn('<h1>%s</h1>' % sv, html)
            self.assertIn(builtin_sv, html)
        response = self.client().get(self.url('info/nothing'))
        self.assertEqual(response.status_code, 404)

        def set_texts():
            Configuration = Pool().get('hb.configuration')
            for lang in ['fi', 'sv']:
                with Transaction().set_context(language=lang):
                    Configuration.write([Configuration(1)], {
                            'hb_accessibility': 'A11y %s' % lang,
                            'hb_privacy': 'Privacy %s' % lang,
                            'hb_contact': 'Kontakt 08 123 %s' % lang,
                            })
        run_in_transaction(set_texts)
        try:
            for lang in ['fi', 'sv']:
                self.assertIn('A11y %s' % lang, self.get(
                        self.client(), 'info/accessibility', lang))
                self.assertIn('Privacy %s' % lang, self.get(
                        self.client(), 'info/privacy', lang))
                self.assertIn('Kontakt 08 123 %s' % lang, self.get(
                        self.client(), 'info/contact', lang))
        finally:
            run_in_transaction(self.clear_settings)
        for name, client, path in self.pages():
            for lang in ['fi', 'sv']:
                with self.subTest(page=name, lang=lang):
                    html = self.get(client, path, lang)
                    footer = html[html.index('<footer'):]
                    for info in ['accessibility', 'privacy', 'contact',
                            'rulebook']:
                        self.assertIn('href="/%s/hb/info/%s?lang=%s"' % (
                                DB_NAME, info, lang), footer)

    def test_brand_from_settings(self):
        "The wellbeing area's name and logo of the settings on every page"
        html = self.get(self.client(), 'catalogue', 'fi')
        # Without settings: the company's name, no logo
        self.assertIn('<span class="area">Kainuun hyvinvointialue</span>',
            html)
        self.assertNotIn('/logo"', html)
        self.assertEqual(
            self.client().get(self.url('logo')).status_code, 404)

        def set_brand():
            Configuration = Pool().get('hb.configuration')
            for lang, name in [('fi', "Pohjanmaan hyvinvointialue"),
                    ('sv', "Österbottens välfärdsområde")]:
                with Transaction().set_context(language=lang):
                    Configuration.write([Configuration(1)],
                        {'hb_area_name': name})
            Configuration.write([Configuration(1)], {'hb_logo': PNG})
        run_in_transaction(set_brand)
        try:
            for name, client, path in self.pages():
                for lang, area in [('fi', "Pohjanmaan hyvinvointialue"),
                        ('sv', "Österbottens välfärdsområde")]:
                    with self.subTest(page=name, lang=lang):
                        html = self.get(client, path, lang)
                        header = html[:html.index('</header>')]
                        self.assertIn(
                            '<span class="area">%s</span>' % area, header)
                        self.assertIn('<img src="/%s/hb/logo" alt="'
                            % DB_NAME, header)
            response = self.client().get(self.url('logo'))
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.mimetype, 'image/png')
            self.assertEqual(response.get_data(), PNG)
            self.assertEqual(
                response.headers['X-Content-Type-Options'], 'nosniff')
        finally:
            run_in_transaction(self.clear_settings)


class SwedishClientTestCase(CachedLanguages, _DBTestCase):
    "A Swedish-speaking client gets the SMS and the decision letter in sv"
    module = 'hb_voucher'
    languages = ('fi', 'sv')

    @with_transaction()
    def test_sms_and_letter_in_swedish(self):
        pool = Pool()
        Charge = pool.get('hb.charge')
        Message = pool.get('hb.sms.message')
        Letter = pool.get('hb.decision.letter', type='report')
        Lang = pool.get('ir.lang')
        Plan = pool.get('hb.plan')
        Decision = pool.get('hb.decision')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            application = create_provider_with_service(data)
            mobile = '+358401239876'
            client = create_client(data, mobile, individual=931,
                name="Svensk Kund", lang='sv')
            today = datetime.date.today()
            start = today.replace(day=1)
            end = start.replace(year=start.year + 1) - datetime.timedelta(1)
            plan, = Plan.create([{
                        'company': data['company'].id, 'client': client.id,
                        'valid_from': start, 'valid_to': end,
                        'next_review': end, 'needs': "Hjälp hemma",
                        'goals': "Bo hemma",
                        'services': [('create', [{
                                        'category': data['home_help'].id,
                                        'quantity': Decimal('4.00'),
                                        'unit_cost': Decimal('40.00'),
                                        }])],
                        'checklist': [('create', [{
                                        'criterion': c, 'answer': 'yes',
                                        'note': "Bedömt med kunden",
                                        } for c, _ in CRITERIA])],
                        }])
            Plan.agree([plan])
            decision = Decision(company=data['company'], client=client,
                plan=plan, start_date=start, end_date=end,
                value_method='manual', justification="Överenskommet",
                amount=Decimal('1234.50'))
            # The letter's language follows the client's, as in the form
            decision.on_change_client()
            self.assertEqual(decision.language, Lang.get('sv'))
            decision.lines = [{'category': data['home_help'].id,
                    'amount': Decimal('1234.50')}]
            decision.save()
            with Transaction().set_user(0):
                Decision.propose([decision])
                Decision.approve([decision])

            ext, content, _, _ = Letter.execute([decision.id], {})
            with zipfile.ZipFile(io.BytesIO(content)) as odt:
                text = odt.read('content.xml').decode('utf-8')
            for swedish in ["Beslut om personlig budget",
                    "Kunden beviljas en personlig budget på",
                    "Anvisning för begäran om omprövning",
                    "begära omprövning skriftligen inom 30 dagar",
                    "socialvårdslagen (1301/2014)",
                    "1\u00a0234,50"]:
                self.assertIn(swedish, text)
            self.assertNotIn("Personal Budget Decision", text)
            self.assertNotIn("Henkilökohtaisen budjetin päätös", text)

            product = provider_product(application)
            charge, _ = Charge.request(
                application.party, mobile, [(product.id, 1)], 'sv-1')
            message, = Message.search([('to', '=', mobile)],
                order=[('id', 'DESC')], limit=1)
            self.assertIn("Din kod är", message.text)
            self.assertIn("35,00 €", message.text)
            self.assertIn("från din personliga budget", message.text)
            Charge.confirm(charge, last_code(mobile))
            message, = Message.search([('to', '=', mobile)],
                order=[('id', 'DESC')], limit=1)
            self.assertIn("Kvitto %s" % charge.number, message.text)
