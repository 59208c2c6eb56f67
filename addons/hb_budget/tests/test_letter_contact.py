# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"The contact person's phone on the letters (Hallintolaki 44 §)"
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module as base
from .test_decision_letters import letter_text

PHONE = '+358 40 123 4567'


class LetterContactTestCase(TestCase):
    "Test the contact person's phone on the letters"

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

    def give_phone(self, user, phone):
        "Make user an employee of the company whose party has phone"
        pool = Pool()
        Employee = pool.get('company.employee')
        Party = pool.get('party.party')
        User = pool.get('res.user')
        party, = Party.create([{
                    'name': user.name,
                    'contact_mechanisms': [('create', [
                                {'type': 'email',
                                    'value': 'worker@example.com'},
                                {'type': 'phone', 'value': phone},
                                ])],
                    }])
        employee, = Employee.create([{
                    'company': self.company.id, 'party': party.id}])
        User.write([user], {
                'employees': [('add', [employee.id])],
                'employee': employee.id,
                })

    @with_transaction()
    def test_contact_phone_on_letters(self):
        "The letter prints the contact's phone, in fi, sv and en"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        Rectification = pool.get('hb.decision.rectification')
        company = self.setup_hb()
        with set_company(company):
            # without a phone, none is printed
            decision = self.approve(self.create_decision(
                    self.create_plan(self.create_client(961))))
            self.assertEqual(decision.contact, self.worker)
            self.assertIsNone(decision.get_contact_phone())
            self.assertNotIn('phone', letter_text(
                    'hb.decision.letter', decision))

            self.give_phone(self.worker, PHONE)
            decision = Decision(decision.id)
            phone = decision.get_contact_phone()
            # (as the party module formats it)
            self.assertEqual(phone.replace(' ', ''), PHONE.replace(' ', ''))
            text = letter_text('hb.decision.letter', decision)
            self.assertIn('More information: Worker', text)
            self.assertIn('phone %s' % phone, text)

            for code, label in [('fi', 'puh.'), ('sv', 'tfn')]:
                lang, = Lang.search([('code', '=', code)])
                Lang.write([lang], {'translatable': True})
                Lang.load_translations([lang])
                client = self.create_client(962 if code == 'fi' else 963)
                Party.write([client], {'lang': lang.id})
                decision = self.approve(self.create_decision(
                        self.create_plan(client)))
                self.assertEqual(decision.language, lang)
                text = letter_text('hb.decision.letter', decision)
                self.assertIn('%s %s' % (label, phone), text)

            # and the rectification decision's letter too
            request, = Rectification.create([{
                        'decision': decision.id,
                        'request': "Lisää apua"}])
            Rectification.write([request], {
                    'outcome': 'upheld', 'reasons': "Tarve on katettu"})
            with Transaction().set_user(self.manager.id):
                Rectification.decide([request])
            text = letter_text('hb.decision.rectification.letter', request)
            self.assertIn('tfn %s' % phone, text)
