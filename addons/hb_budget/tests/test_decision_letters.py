# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"Decision letters per outcome, reasons, sending and rectification requests"
import datetime as dt
import io
import zipfile

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module as base
from .pdf_tools import archived_text, letter_extension


def letter_text(report_name, record):
    Letter = Pool().get(report_name, type='report')
    ext, content, _, _ = Letter.execute([record.id], {})
    assert ext == 'odt', ext
    with zipfile.ZipFile(io.BytesIO(content)) as odt:
        return odt.read('content.xml').decode('utf-8')


class DecisionLetterTestCase(TestCase):
    "Test the decision letters and the rectification requests"

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

    def proposed(self, individual):
        Decision = Pool().get('hb.decision')
        client = self.create_client(individual)
        decision = self.create_decision(self.create_plan(client))
        Decision.propose([decision])
        return decision

    def reject(self, decision, reasons, user=None):
        Decision = Pool().get('hb.decision')
        decision.reasons = reasons
        decision.save()
        with Transaction().set_user((user or self.supervisor).id):
            Decision.reject([decision])
        return Decision(decision.id)

    @with_transaction()
    def test_reject_requires_reasons(self):
        "A rejection without reasons is refused (Hallintolaki 45 §)"
        Decision = Pool().get('hb.decision')
        company = self.setup_hb()
        with set_company(company):
            decision = self.proposed(930)
            with Transaction().set_user(self.supervisor.id):
                with self.assertRaises(UserError) as cm:
                    Decision.reject([decision])
            self.assertIn('45', cm.exception.message)
            self.assertEqual(Decision(decision.id).state, 'proposed')

    @with_transaction()
    def test_partly_granted_requires_reasons(self):
        "A partly granted decision without reasons is refused"
        Decision = Pool().get('hb.decision')
        company = self.setup_hb()
        with set_company(company):
            decision = self.proposed(931)
            Decision.write([decision], {'outcome': 'partly_granted'})
            with self.assertRaises(UserError):
                self.approve(decision)
            Decision.write([decision], {
                    'reasons': "Cleaning is granted for 4 hours, not 6"})
            decision = self.approve(decision)
            self.assertEqual(decision.state, 'approved')
            self.assertEqual(decision.outcome, 'partly_granted')

    @with_transaction()
    def test_rejected_letter(self):
        "A rejected decision's letter states the rejection and its reasons"
        company = self.setup_hb()
        with set_company(company):
            decision = self.reject(
                self.proposed(932), "The needs are met by home care")
            self.assertEqual(decision.outcome, 'rejected')
            text = letter_text('hb.decision.letter', decision)
            self.assertIn('application for a personal budget is rejected',
                text)
            self.assertIn('The needs are met by home care', text)
            self.assertNotIn('granted', text)
            self.assertIn('Supervisor', text)  # the decider
            self.assertIn('Worker', text)  # the preparer and contact
            self.assertIn('30 days', text)

    @with_transaction()
    def test_outcome_letters(self):
        "Each outcome's letter carries its key sentence"
        Decision = Pool().get('hb.decision')
        company = self.setup_hb()
        with set_company(company):
            granted = self.approve(self.proposed(933))
            self.assertEqual(granted.outcome, 'granted')
            self.assertIn('The client is granted a personal budget of',
                letter_text('hb.decision.letter', granted))

            partly = self.proposed(934)
            Decision.write([partly], {
                    'outcome': 'partly_granted',
                    'reasons': "Meals are provided by the day centre"})
            partly = self.approve(partly)
            text = letter_text('hb.decision.letter', partly)
            self.assertIn('The application is partly granted', text)
            self.assertIn('Meals are provided by the day centre', text)

            amended = self.create_decision(granted.plan)
            Decision.write([amended], {
                    'supersedes': granted.id,
                    'reasons': "The need for cleaning grew"})
            amended = self.approve(amended)
            self.assertEqual(amended.outcome, 'amended')
            text = letter_text('hb.decision.letter', amended)
            self.assertIn('is amended', text)
            self.assertIn(granted.number, text)

            ended = self.create_decision(
                amended.plan, end=base.YEAR_START + dt.timedelta(days=59),
                fill=True)
            Decision.write([ended], {
                    'supersedes': amended.id,
                    'outcome': 'ended'})
            Decision.propose([ended])
            with self.assertRaises(UserError):
                self.approve(ended)
            Decision.write([ended], {'reasons': "The client moved away"})
            ended = self.approve(ended)
            text = letter_text('hb.decision.letter', ended)
            self.assertIn('The personal budget ends on', text)
            self.assertIn('The client moved away', text)

    @with_transaction()
    def test_swedish_letter(self):
        "A Swedish client's letter is in Swedish"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        company = self.setup_hb()
        with set_company(company):
            sv, = Lang.search([('code', '=', 'sv')])
            Lang.load_translations([sv])
            client = self.create_client(935)
            Party.write([client], {'lang': sv.id})
            decision = self.create_decision(self.create_plan(client))
            decision = self.reject(
                self.proposed_decision(decision), "Behovet täcks av hemvård")
            self.assertEqual(decision.language, sv)
            text = letter_text('hb.decision.letter', decision)
            self.assertIn('Ansökan om personlig budget avslås', text)
            self.assertIn('Behovet täcks av hemvård', text)
            self.assertIn('begära omprövning', text)
            self.assertIn('Beslutsfattare: Supervisor, Förman', text)

    def proposed_decision(self, decision):
        Decision = Pool().get('hb.decision')
        Decision.propose([decision])
        return decision

    @with_transaction()
    def test_legal_basis_per_customer_group(self):
        "The letter cites the legal basis set for the client's group"
        pool = Pool()
        Group = pool.get('hb.customer.group')
        LegalBasis = pool.get('hb.legal.basis')
        Party = pool.get('party.party')
        company = self.setup_hb()
        with set_company(company):
            group, = Group.create([{'name': "Disabled", 'code': 'disab'}])
            LegalBasis.create([{
                        'customer_group': group.id,
                        'statute': 'disability',
                        }])
            other = self.approve(self.proposed(936))
            self.assertIn('1301/2014', letter_text(
                    'hb.decision.letter', other))
            self.assertNotIn('675/2023', letter_text(
                    'hb.decision.letter', other))
            client = self.create_client(937)
            Party.write([client], {
                    'hb_customer_groups': [('add', [group.id])]})
            decision = self.create_decision(self.create_plan(client))
            decision = self.approve(decision)
            self.assertIn('675/2023', letter_text(
                    'hb.decision.letter', decision))

    @with_transaction()
    def test_send_deadline_and_archive(self):
        "Sending records the date, the notification and the deadline"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Attachment = pool.get('ir.attachment')
        Date = pool.get('ir.date')
        company = self.setup_hb()
        with set_company(company):
            decision = self.reject(self.proposed(938), "No need")
            with self.assertRaises(UserError):
                Decision.write([decision], {'reasons': "Changed"})
            Decision.write([decision], {'sending_method': 'post'})
            with Transaction().set_user(self.worker.id), \
                    Transaction().set_context(_check_access=True):
                Decision.send([Decision(decision.id)])
            decision = Decision(decision.id)
            today = Date.today()
            self.assertEqual(decision.sent_date, today)
            self.assertEqual(
                decision.notified_date, today + dt.timedelta(days=7))
            deadline = decision.notified_date + dt.timedelta(days=30)
            while deadline.weekday() >= 5:
                deadline += dt.timedelta(days=1)
            self.assertGreaterEqual(decision.rectification_deadline, deadline)
            self.assertLessEqual(
                decision.rectification_deadline - deadline,
                dt.timedelta(days=4))
            attachments = Attachment.search([
                    ('resource', '=', str(decision))])
            self.assertEqual(len(attachments), 1)
            self.assertEqual(decision.letter, attachments[0])
            # as PDF (test_letter_pdf), or in a quick run without
            # LibreOffice as OpenDocument text
            self.assertTrue(attachments[0].name.endswith(
                    '.' + letter_extension()), attachments[0].name)
            self.assertIn('No need', archived_text(attachments[0]))

    @with_transaction()
    def test_notification_days(self):
        "Post counts from the 7th day, e-delivery from the 3rd"
        from trytond.modules.hb_budget.decision import (
            notification_date,
            rectification_deadline,
        )
        sent = dt.date(2026, 3, 2)  # a Monday
        self.assertEqual(notification_date(sent, 'post'), dt.date(2026, 3, 9))
        self.assertEqual(
            notification_date(sent, 'e_delivery'), dt.date(2026, 3, 5))
        self.assertEqual(
            notification_date(sent, 'handed_over'), sent)
        # 30 days after 9.3. is Wed 8.4.2026; after 5.3. Sat 4.4. → Tue
        # 7.4. (Easter Monday 6.4. is a holiday)
        self.assertEqual(
            rectification_deadline(dt.date(2026, 3, 9)), dt.date(2026, 4, 8))
        self.assertEqual(
            rectification_deadline(dt.date(2026, 3, 5)), dt.date(2026, 4, 7))

    @with_transaction()
    def test_rectification(self):
        "A rectification request: deadline, other official, outcome letter"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Rectification = pool.get('hb.decision.rectification')
        company = self.setup_hb()
        with set_company(company):
            decision = self.reject(self.proposed(939), "No need")
            Decision.write([decision], {'sending_method': 'e_delivery'})
            Decision.send([decision])
            decision = Decision(decision.id)
            in_time, late = Rectification.create([{
                        'decision': decision.id,
                        'received_date': decision.notified_date,
                        'request': "I need help with cleaning",
                        }, {
                        'decision': decision.id,
                        'received_date': (decision.rectification_deadline
                            + dt.timedelta(days=1)),
                        'request': "Late",
                        }])
            self.assertFalse(in_time.late)
            self.assertTrue(late.late)
            self.assertEqual(
                in_time.deadline, decision.rectification_deadline)
            # the original decider may not handle it
            Rectification.write([in_time], {
                    'outcome': 'upheld', 'reasons': "Home care suffices"})
            with Transaction().set_user(self.supervisor.id):
                with self.assertRaises(UserError):
                    Rectification.decide([in_time])
            with Transaction().set_user(self.manager.id):
                Rectification.decide([in_time])
            in_time = Rectification(in_time.id)
            self.assertEqual(in_time.state, 'decided')
            self.assertEqual(in_time.decided_by, self.manager)
            text = letter_text('hb.decision.rectification.letter', in_time)
            self.assertIn('The rectification request is rejected', text)
            self.assertIn('Home care suffices', text)
            self.assertIn('administrative court', text)
            # reasons are required
            Rectification.write([late], {'outcome': 'dismissed'})
            with Transaction().set_user(self.manager.id):
                with self.assertRaises(UserError):
                    Rectification.decide([late])
                Rectification.write([late], {'reasons': "Filed too late"})
                Rectification.decide([late])
            text = letter_text('hb.decision.rectification.letter', late)
            self.assertIn('is dismissed without examination', text)


    @with_transaction()
    def test_rectification_access(self):
        "Rectification requests follow the decision's access and rules"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Rectification = pool.get('hb.decision.rectification')
        LegalBasis = pool.get('hb.legal.basis')
        transaction = Transaction()
        company = self.setup_hb()
        with set_company(company):
            decision = self.reject(self.proposed(940), "No need")
            request, = Rectification.create([{
                        'decision': decision.id,
                        'request': "Please reconsider",
                        }])
            for user, count in [(self.worker, 1), (self.other_worker, 0),
                    (self.supervisor, 1), (self.manager, 1)]:
                with transaction.set_user(user.id), \
                        transaction.set_context(_check_access=True):
                    self.assertEqual(
                        len(Rectification.search([])), count, user.login)
            with transaction.set_user(self.dpo.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Rectification.search([])
            # the own-worker records a request for their client, another
            # own-worker cannot
            with transaction.set_user(self.worker.id), \
                    transaction.set_context(_check_access=True):
                Rectification.create([{
                            'decision': decision.id,
                            'request': "Again",
                            }])
                # an own-worker may not decide
                with self.assertRaises(AccessButtonError):
                    Rectification.decide([request])
                # nor change the legal bases
                with self.assertRaises(AccessError):
                    LegalBasis.create([{'statute': 'social_welfare'}])
            with transaction.set_user(self.other_worker.id), \
                    transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Rectification.create([{
                                'decision': decision.id,
                                'request': "Not mine",
                                }])
            self.assertEqual(Decision(decision.id).state, 'rejected')
