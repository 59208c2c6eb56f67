# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The answers to the client's requests (issue 13, Omasote): one SMS to
the sender, in their language and without personal data, when the
own-worker handles or refuses a request."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import (
    module_po_path,
    with_transaction,
)

from . import test_client_case
from .tools import create_client, create_wellbeing_area, setup_hb

MOBILE = '+358403333471'
MOBILE_HELPER = '+358403333472'


def load_translations(module='hb_voucher'):
    "Make Finnish and Swedish translatable and load module's translations"
    pool = Pool()
    Lang = pool.get('ir.lang')
    Translation = pool.get('ir.translation')
    for code in ['fi', 'sv']:
        lang, = Lang.search([('code', '=', code)])
        lang.translatable = True
        lang.save()
        Translation.translation_import(
            code, module, module_po_path(module, code))


class ClientAnswersTestCase(_DBTestCase):
    "The answers to the client's requests"
    module = 'hb_voucher'

    def messages(self, mobile):
        Message = Pool().get('hb.sms.message')
        return [m.text for m in Message.search(
                [('to', '=', mobile)], order=[('id', 'ASC')])]

    @with_transaction()
    def test_sms_per_answer(self):
        """Handling or refusing a request queues exactly one SMS to who
        sent it, in their language, with no personal data"""
        pool = Pool()
        Party = pool.get('party.party')
        Lang = pool.get('ir.lang')
        Representative = pool.get('hb.client.representative')
        Request = pool.get('hb.client.request')
        load_translations()
        company = create_wellbeing_area()
        with set_company(company):
            data = setup_hb()
            client = create_client(data, MOBILE, name="Vastaus Asiakas",
                lang='fi')
            helper, = Party.create([{
                        'name': "Apu Sukulainen",
                        'lang': Lang.get('sv').id,
                        }])
            Representative.create([{
                        'client': client.id, 'party': helper.id,
                        'role': 'relative', 'mobile': MOBILE_HELPER,
                        'may_view_balance': True,
                        'may_make_requests': True,
                        }])
            message, review, other = Request.create([{
                        'client': client.id, 'person': client.id,
                        'kind': 'message', 'text': "Voimmeko tavata?",
                        }, {
                        'client': client.id, 'person': helper.id,
                        'kind': 'review', 'text': "Behovet har ökat.",
                        }, {
                        'client': client.id, 'person': client.id,
                        'kind': 'message', 'text': "Toinen viesti",
                        }])

            Request.apply([message])
            self.assertEqual(self.messages(MOBILE), [
                    "Henkilökohtainen budjetti: pyyntöösi on vastattu. "
                    "Katso vastaus asiakassivultasi."])
            self.assertEqual(self.messages(MOBILE_HELPER), [])

            review.answer = "Vi ses på tisdag."
            review.save()
            Request.refuse([review])
            self.assertEqual(self.messages(MOBILE_HELPER), [
                    "Personlig budget: din begäran har besvarats. "
                    "Se svaret på din klientsida."])
            self.assertEqual(len(self.messages(MOBILE)), 1)

            # An answered request is not answered again
            Request.apply([message, review])
            self.assertEqual(len(self.messages(MOBILE)), 1)
            self.assertEqual(len(self.messages(MOBILE_HELPER)), 1)

            # No mobile number: answered, no SMS
            client.hb_mobile = None
            client.save()
            Request.apply([other])
            self.assertEqual(other.state, 'done')
            Message = pool.get('hb.sms.message')
            for text in [m.text for m in Message.search([])]:
                for private in ["Vastaus", "Apu", "Voimmeko", "tisdag"]:
                    self.assertNotIn(private, text)

    @with_transaction()
    def test_rectification_decided_closes_request(self):
        """Deciding a rectification received through the page marks its
        request handled with the outcome (one SMS); one received in the
        back office has no request"""
        pool = Pool()
        Rectification = pool.get('hb.decision.rectification')
        Request = pool.get('hb.client.request')
        load_translations('hb_budget')
        load_translations()
        company = create_wellbeing_area()
        with set_company(company):
            data = setup_hb()
            client = create_client(data, MOBILE, name="Oikaisu Asiakas",
                lang='fi')
            decision = test_client_case.create_budget_lines(data, client, {
                    'home_help': Decimal('300.00'),
                    'meals': Decimal('200.00'),
                    })
            page, office = Rectification.create([{
                        'company': company.id, 'decision': decision.id,
                        'channel': 'client_page',
                        'request': "Ateriapalvelun määrä on liian pieni.",
                        }, {
                        'company': company.id, 'decision': decision.id,
                        'channel': 'back_office',
                        'request': "Kirjeitse tullut vaatimus.",
                        }])
            request, = Request.create([{
                        'client': client.id, 'person': client.id,
                        'kind': 'rectification', 'rectification': page.id,
                        'text': page.request,
                        }])
            for rectification in [page, office]:
                rectification.outcome = 'upheld'
                rectification.reasons = "Määrä vastaa suunnitelmaa."
            Rectification.save([page, office])
            Rectification.decide([page, office])

            request = Request(request.id)
            self.assertEqual(request.state, 'done')
            self.assertEqual(request.handled_date, page.decision_date)
            date = page.decision_date
            self.assertEqual(request.answer,
                "Oikaisuvaatimuksesi ratkaistiin %s: Vaatimus "
                "hylätään, päätös pysyy. Perustelut ovat päätöskirjeessä."
                % date.strftime('%d.%m.%Y'))
            self.assertEqual(self.messages(MOBILE), [
                    "Henkilökohtainen budjetti: pyyntöösi on vastattu. "
                    "Katso vastaus asiakassivultasi."])
            self.assertEqual(Request.search([
                        ('rectification', '=', office.id)]), [])


del _DBTestCase
