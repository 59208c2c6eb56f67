# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The letters archived as PDF (issue 13): their text read from the PDF,
every outcome's letter and the rectification letter converted in Finnish,
Swedish and English, concurrent conversions, and the OpenDocument text
kept (and the failure logged) when the conversion fails."""
import threading
import types
from unittest import mock

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module as base
from .pdf_tools import check_soffice, odt_text, pdf_text

LOGGER = 'trytond.modules.hb_budget.letter_pdf'


class LetterPdfTestCase(TestCase):
    "Test the letters archived as PDF"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['hb_budget'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    setup_hb = base.HbBudgetTestCase.setup_hb
    create_client = base.HbBudgetTestCase.create_client
    create_plan = base.HbBudgetTestCase.create_plan
    create_decision = base.HbBudgetTestCase.create_decision
    approve = base.HbBudgetTestCase.approve

    def client(self, individual, lang=None):
        "A client whose letters are in lang (a code, None: English)"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        client = self.create_client(individual)
        if lang:
            language, = Lang.search([('code', '=', lang)])
            Lang.load_translations([language])
            Party.write([client], {'lang': language.id})
        return client

    def proposed(self, individual, lang=None, **values):
        Decision = Pool().get('hb.decision')
        decision = self.create_decision(
            self.create_plan(self.client(individual, lang)))
        if values:
            Decision.write([decision], values)
        Decision.propose([decision])
        return decision

    def reject(self, decision, reasons):
        Decision = Pool().get('hb.decision')
        Decision.write([decision], {'reasons': reasons})
        with Transaction().set_user(self.supervisor.id):
            Decision.reject([decision])
        return Decision(decision.id)

    def send(self, decision):
        "Send decision by post and return it with its archived letter"
        Decision = Pool().get('hb.decision')
        Decision.write([decision], {'sending_method': 'post'})
        Decision.send([Decision(decision.id)])
        return Decision(decision.id)

    def assert_pdf_letter(self, decision):
        "Assert the letter archived on decision is a PDF; return its text"
        letter = decision.letter
        self.assertTrue(letter.name.endswith('.pdf'), letter.name)
        self.assertTrue(bytes(letter.data).startswith(b'%PDF'))
        return pdf_text(letter.data)

    def converted_text(self, report_name, record):
        "Convert the report of record to PDF and return its text"
        from trytond.modules.hb_budget.letter_pdf import render_letter
        ext, content, _ = render_letter(report_name, record)
        self.assertEqual(ext, 'pdf', report_name)
        return pdf_text(content)

    @with_transaction()
    def test_rejected_pdf(self):
        """A rejected decision's PDF states the rejection and its reasons
        and not "granted\""""
        check_soffice(self)
        company = self.setup_hb()
        with set_company(company):
            decision = self.send(self.reject(
                    self.proposed(941), "The needs are met by home care."))
            text = self.assert_pdf_letter(decision)
            self.assertIn(
                'The application for a personal budget is rejected.', text)
            self.assertIn('The needs are met by home care.', text)
            self.assertNotIn('granted', text)
            self.assertIn(decision.number, text)
            self.assertIn('30 days', text)

    @with_transaction()
    def test_granted_pdf_finnish(self):
        "A granted decision's PDF states the amount, in Finnish"
        Letter = Pool().get('hb.decision.letter', type='report')
        company = self.setup_hb()
        check_soffice(self)
        with set_company(company):
            decision = self.send(self.approve(self.proposed(942, 'fi')))
            self.assertEqual(decision.outcome, 'granted')
            text = self.assert_pdf_letter(decision)
            amount = ' '.join(Letter.format_currency(decision.amount,
                    decision.language, decision.currency).split())
            self.assertIn('4', amount)
            self.assertIn(
                'Asiakkaalle myönnetään henkilökohtainen budjetti, jonka '
                'määrä on %s' % amount, text)
            self.assertNotIn('hylätään', text)

    @with_transaction()
    def test_swedish_pdf(self):
        "A Swedish client's letter is in Swedish"
        company = self.setup_hb()
        check_soffice(self)
        with set_company(company):
            decision = self.send(self.reject(
                    self.proposed(943, 'sv'), "Behovet täcks av hemvård."))
            text = self.assert_pdf_letter(decision)
            self.assertIn('Ansökan om personlig budget avslås.', text)
            self.assertIn('Behovet täcks av hemvård.', text)
            self.assertIn('Beslutsfattare: Supervisor, Förman', text)
            self.assertNotIn('rejected', text)
            self.assertNotIn('hylätään', text)

    @with_transaction()
    def test_every_outcome_pdf(self):
        """The letters of the other outcomes convert: partly granted in
        Swedish, amended in English, ended in Finnish"""
        Decision = Pool().get('hb.decision')
        company = self.setup_hb()
        check_soffice(self)
        with set_company(company):
            partly = self.approve(self.proposed(944, 'sv',
                    outcome='partly_granted',
                    reasons="Måltider ges av dagcentret."))
            text = self.converted_text('hb.decision.letter', partly)
            self.assertIn('Ansökan beviljas delvis', text)
            self.assertIn('Måltider ges av dagcentret.', text)

            granted = self.approve(self.proposed(945))
            amended = self.create_decision(granted.plan)
            Decision.write([amended], {
                    'supersedes': granted.id,
                    'reasons': "The need for cleaning grew."})
            amended = self.approve(amended)
            self.assertEqual(amended.outcome, 'amended')
            text = self.converted_text('hb.decision.letter', amended)
            self.assertIn('is amended', text)
            self.assertIn(granted.number, text)
            self.assertIn('The need for cleaning grew.', text)

            first = self.approve(self.proposed(946, 'fi'))
            ended = self.create_decision(first.plan,
                end=base.YEAR_START.replace(month=2, day=28))
            Decision.write([ended], {
                    'supersedes': first.id,
                    'outcome': 'ended',
                    'reasons': "Asiakas muutti pois."})
            ended = self.approve(ended)
            self.assertEqual(ended.outcome, 'ended')
            text = self.converted_text('hb.decision.letter', ended)
            self.assertIn('Henkilökohtainen budjetti päättyy', text)
            self.assertIn('Asiakas muutti pois.', text)

    @with_transaction()
    def test_rectification_pdf(self):
        """The rectification outcome letters are archived as PDF in fi, sv
        and en"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Rectification = pool.get('hb.decision.rectification')
        company = self.setup_hb()
        check_soffice(self)
        expected = {
            None: ('upheld', "The rectification request is rejected: "
                "the decision remains in force."),
            'sv': ('dismissed', "Begäran om omprövning avvisas utan "
                "prövning."),
            'fi': ('upheld', "Oikaisuvaatimus hylätään: päätös pysyy "
                "voimassa."),
            }
        with set_company(company):
            for individual, (lang, (outcome, sentence)) in enumerate(
                    expected.items(), 947):
                decision = self.send(self.reject(
                        self.proposed(individual, lang), "No need."))
                request, = Rectification.create([{
                            'decision': decision.id,
                            'received_date': decision.notified_date,
                            'request': "I need help with cleaning",
                            'outcome': outcome,
                            'reasons': "Reasons %s" % individual,
                            }])
                with Transaction().set_user(self.manager.id):
                    Rectification.decide([request])
                # the outcome letter is archived on the request
                letter, = Attachment.search([
                        ('resource', '=', str(request)),
                        ])
                self.assertTrue(letter.name.endswith('.pdf'), letter.name)
                text = pdf_text(letter.data)
                self.assertIn(sentence, text, lang)
                self.assertIn("Reasons %s" % individual, text)

    @with_transaction()
    def test_concurrent_conversions(self):
        """Two conversions at once (two test processes in CI, or two
        trytond workers) both give a PDF: each call has its own
        LibreOffice profile"""
        pool = Pool()
        Letter = pool.get('hb.decision.letter', type='report')
        company = self.setup_hb()
        check_soffice(self)
        with set_company(company):
            decisions = [self.reject(self.proposed(i), "Reason %s" % i)
                for i in (950, 951)]
            contents = [Letter.execute([d.id], {})[1] for d in decisions]
        action = types.SimpleNamespace(report_name='hb.decision.letter',
            template_extension='odt', extension='pdf')
        barrier = threading.Barrier(2)
        results = [None, None]

        def convert(index):
            barrier.wait()
            results[index] = Letter.convert(action, contents[index])
        threads = [threading.Thread(target=convert, args=(i,))
            for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for index, (ext, content) in enumerate(results):
            self.assertEqual(ext, 'pdf', index)
            self.assertIn("Reason %s" % (950 + index), pdf_text(content))

    @with_transaction()
    def test_failed_conversion_keeps_odt(self):
        """A failed conversion is logged as a warning with its exception
        and the letter is archived as OpenDocument text"""
        pool = Pool()
        Letter = pool.get('hb.decision.letter', type='report')
        company = self.setup_hb()
        with set_company(company):
            decision = self.reject(self.proposed(952), "No need.")
            convert = Letter.convert

            def failing(action, data, *args, **kwargs):
                # rendering converts to the template's own format: as is
                if action.extension == 'pdf':
                    raise RuntimeError("soffice crashed")
                return convert(action, data, *args, **kwargs)
            with mock.patch(LOGGER + '.convert_program',
                        return_value='/usr/bin/soffice'), \
                    mock.patch.object(Letter, 'convert',
                        side_effect=failing), \
                    self.assertLogs(LOGGER, 'WARNING') as logs:
                decision = self.send(decision)
            self.assertTrue(decision.letter.name.endswith('.odt'),
                decision.letter.name)
            self.assertIn('No need.', odt_text(decision.letter.data))
            self.assertEqual(len(logs.records), 1)
            self.assertIn('soffice crashed', logs.output[0])
            self.assertIsNotNone(logs.records[0].exc_info)

    @with_transaction()
    def test_missing_soffice_keeps_odt(self):
        """Without LibreOffice the letter is archived as OpenDocument text
        and a warning says why"""
        company = self.setup_hb()
        with set_company(company):
            decision = self.reject(self.proposed(953), "No need.")
            with mock.patch(LOGGER + '.convert_program',
                        return_value=None), \
                    self.assertLogs(LOGGER, 'WARNING') as logs:
                decision = self.send(decision)
            self.assertTrue(decision.letter.name.endswith('.odt'))
            self.assertIn('No need.', odt_text(decision.letter.data))
            self.assertIn('not installed', logs.output[0])
