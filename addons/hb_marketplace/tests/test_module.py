# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import (
    TranslationTestMixin,
    with_transaction,
)
from trytond.modules.hb_marketplace.exceptions import (
    ApplicationIncomplete,
    DuplicateApplication,
    InvalidBIC,
    InvalidBusinessId,
    InvalidEmail,
    InvalidIBAN,
    InvalidPhone,
    InvalidVATNumber,
    PriceAboveCap,
    ProviderNotActive,
    RatingError,
    ReasonRequired,
)

from .tools import (
    BIC,
    CHECKLIST,
    IBANS,
    application_values,
    create_master_data,
    create_provider,
    no_email,
    savepoint,
    with_company,
)


class HbMarketplaceTestCase(TranslationTestMixin, ModuleTestCase):
    "Test hb_marketplace module"
    module = 'hb_marketplace'

    @with_transaction()
    @with_company
    def test_application_refuses_bad_input(self):
        "Invalid identifiers are refused with their message, nothing saved"
        pool = Pool()
        Application = pool.get('hb.provider.application')
        data = create_master_data()
        for field, value, error in [
                ('business_id', '1234567-2', InvalidBusinessId),
                ('business_id', 'abc', InvalidBusinessId),
                ('vat_number', 'FI12345678', InvalidVATNumber),
                ('iban', 'FI21 1234 5600 0007 84', InvalidIBAN),
                ('bic', 'NOTABIC!', InvalidBIC),
                ('email', 'not-an-email', InvalidEmail),
                ('phone', '12', InvalidPhone),
                ]:
            with self.subTest(field=field, value=value):
                values = application_values(data)
                values[field] = value
                with savepoint(), self.assertRaises(error) as cm:
                    Application.create([values])
                self.assertIn(value, cm.exception.message)
        self.assertEqual(Application.search([], count=True), 0)

    @with_transaction()
    @with_company
    def test_application_formats_identifiers(self):
        "Valid identifiers are stored in their canonical form"
        pool = Pool()
        Application = pool.get('hb.provider.application')
        data = create_master_data()
        values = application_values(data)
        values.update({
                'business_id': '12345671', 'iban': IBANS[0].replace(' ', ''),
                'bic': BIC.lower(), 'email': 'Palvelu@Example.COM',
                'phone': '040 123 4567', 'vat_number': 'FI 1234 5671',
                })
        application, = Application.create([values])
        self.assertEqual(application.business_id, '1234567-1')
        self.assertEqual(application.iban, IBANS[0])
        self.assertEqual(application.bic, BIC)
        self.assertEqual(application.email, 'palvelu@example.com')
        self.assertEqual(application.phone, '+358 40 1234567')
        self.assertEqual(application.vat_number, 'FI12345671')

    @with_transaction()
    @with_company
    def test_application_duplicate_open(self):
        "A second open application for the same business ID is refused"
        pool = Pool()
        Application = pool.get('hb.provider.application')
        data = create_master_data()
        first, = Application.create([application_values(data)])
        with savepoint(), self.assertRaises(DuplicateApplication):
            Application.create([application_values(data)])
        self.assertEqual(Application.search([], count=True), 1)
        # Once the first is rejected a new one is accepted
        with no_email():
            Application.submit([first])
            first.rejection_reason = "Missing insurance"
            first.save()
            Application.reject([first])
        Application.create([application_values(data)])

    @with_transaction()
    @with_company
    def test_application_price_above_cap(self):
        "A proposed price above the category's cap is refused"
        pool = Pool()
        Application = pool.get('hb.provider.application')
        data = create_master_data()
        # cleaning inherits the cap of home help (60.00)
        values = application_values(
            data, services=[('Siivous', 'cleaning', Decimal('60.01'))])
        with savepoint(), self.assertRaises(PriceAboveCap):
            Application.create([values])
        self.assertEqual(Application.search([], count=True), 0)

    @with_transaction()
    @with_company
    def test_application_workflow_checks(self):
        "Submit needs the rulebook; approve the checklist; reject a reason"
        pool = Pool()
        Application = pool.get('hb.provider.application')
        data = create_master_data()
        values = application_values(data)
        values['rulebook_accepted'] = False
        application, = Application.create([values])
        with no_email():
            with self.assertRaises(UserError):
                Application.submit([application])
            application.rulebook_accepted = True
            application.save()
            Application.submit([application])
            self.assertEqual(application.state, 'submitted')
            self.assertTrue(application.number)
            with self.assertRaises(ApplicationIncomplete):
                Application.approve([application])
            with self.assertRaises(ReasonRequired):
                Application.reject([application])
            with self.assertRaises(ReasonRequired):
                Application.request_information([application])
            application.information_request = "Send the insurance."
            application.save()
            Application.request_information([application])
            self.assertEqual(application.state, 'information_requested')
            Application.submit([application])
            self.assertEqual(application.state, 'submitted')

    @with_transaction()
    @with_company
    def test_approval_creates_provider(self):
        "Approval creates party, bank account, contract, login, services"
        pool = Pool()
        Email = pool.get('ir.email')
        data = create_master_data()
        with no_email() as send:
            application = create_provider(
                data, vat_number='FI12345671', patch_email=False)
        party = application.party
        self.assertEqual(party.name, application.name)
        self.assertEqual(
            {(i.type, i.code) for i in party.identifiers},
            {('fi_ytunnus', '1234567-1'), ('eu_vat', 'FI12345671')})
        self.assertEqual(party.addresses[0].city, 'Kajaani')
        self.assertEqual(
            {m.type for m in party.contact_mechanisms}, {'email', 'phone'})
        account = party.hb_bank_account
        self.assertEqual(account.numbers[0].number, IBANS[0])
        self.assertEqual(account.bank.bic, BIC)
        self.assertEqual(list(account.owners), [party])
        contract = application.contract
        self.assertEqual(contract.state, 'active')
        self.assertEqual(contract.provider, party)
        self.assertTrue(contract.number)
        self.assertEqual(list(contract.municipalities), [data['kajaani']])
        self.assertEqual(list(contract.customer_groups), [data['avain']])
        self.assertEqual(list(contract.categories), [data['cleaning']])
        self.assertEqual(contract.history[0].action, 'activated')
        web_user = application.web_user
        self.assertEqual(web_user.email, 'palvelu@example.com')
        self.assertEqual(web_user.party, party)
        self.assertTrue(web_user.reset_password_token)
        service, = contract.services
        self.assertEqual(service.hb_provider, party)
        self.assertEqual(service.type, 'service')
        self.assertEqual(service.list_price, Decimal('35.00'))
        self.assertEqual(service.hb_state, 'approved')
        self.assertEqual(service.hb_unit, 'hour')
        self.assertEqual(len(service.products), 1)
        self.assertEqual(service.hb_languages, ('en', 'fi'))
        # received + approved emails, kept as the outbox
        emails = Email.search([
                ('resource', '=', str(application)),
                ], order=[('id', 'ASC')])
        self.assertEqual(len(emails), 2)
        self.assertIn('hb/provider/password?', emails[1].body)
        self.assertIn(web_user.reset_password_token, emails[1].body)
        self.assertEqual(send.call_count, 2)

    @with_transaction()
    @with_company
    def test_contract_covers(self):
        "covers() checks state, dates, municipality, groups and category"
        pool = Pool()
        Contract = pool.get('hb.provider.contract')
        Date = pool.get('ir.date')
        data = create_master_data()
        application = create_provider(data)
        contract = application.contract
        today = Date.today()
        kajaani, avain = data['kajaani'], data['avain']
        self.assertTrue(contract.covers(kajaani, [avain], data['cleaning']))
        self.assertTrue(contract.covers(
                kajaani, [data['elderly'], avain], data['cleaning'], today))
        self.assertFalse(contract.covers(
                data['sotkamo'], [avain], data['cleaning']))
        self.assertFalse(contract.covers(
                kajaani, [data['elderly']], data['cleaning']))
        self.assertFalse(contract.covers(kajaani, [avain], data['meals']))
        # the parent is not covered by a contract on its child
        self.assertFalse(contract.covers(kajaani, [avain], data['home_help']))
        self.assertFalse(contract.covers(
                kajaani, [avain], data['cleaning'],
                today - datetime.timedelta(days=1)))
        self.assertFalse(contract.covers(
                kajaani, [avain], data['cleaning'],
                contract.end_date + datetime.timedelta(days=1)))
        # a contract on the parent covers its children
        contract.categories = [data['home_help']]
        contract.save()
        self.assertTrue(contract.covers(kajaani, [avain], data['cleaning']))
        with no_email():
            Contract.do_suspend([contract], "Insurance expired")
        self.assertEqual(contract.state, 'suspended')
        self.assertFalse(contract.covers(kajaani, [avain], data['cleaning']))
        self.assertEqual(
            [h.action for h in contract.history], ['suspended', 'activated'])
        self.assertEqual(contract.history[0].reason, "Insurance expired")
        with no_email():
            Contract.activate([contract])
        self.assertTrue(contract.covers(kajaani, [avain], data['cleaning']))
        self.assertFalse(contract.suspension_reason)
        with self.assertRaises(ReasonRequired):
            Contract.do_terminate([contract], '')

    @with_transaction()
    @with_company
    def test_contract_price_cap(self):
        "A contract's own cap lowers the category's cap"
        pool = Pool()
        PriceCap = pool.get('hb.provider.contract.price_cap')
        Template = pool.get('product.template')
        data = create_master_data()
        application = create_provider(data)
        contract = application.contract
        self.assertEqual(
            contract.get_price_cap(data['cleaning']), Decimal('60.00'))
        PriceCap.create([{
                    'contract': contract.id,
                    'category': data['home_help'].id,
                    'price_cap': Decimal('30.00'),
                    }])
        self.assertEqual(
            contract.get_price_cap(data['cleaning']), Decimal('30.00'))
        service, = contract.services
        service = Template(service.id)
        service.list_price = Decimal('30.01')
        with self.assertRaises(PriceAboveCap):
            service.save()

    @with_transaction()
    @with_company
    def test_price_proposal(self):
        "A proposal waits; the price changes on approval; caps apply"
        pool = Pool()
        Proposal = pool.get('hb.service.price.proposal')
        Contract = pool.get('hb.provider.contract')
        data = create_master_data()
        application = create_provider(data)
        service, = application.contract.services
        with savepoint(), self.assertRaises(PriceAboveCap):
            Proposal.create([{'service': service.id, 'price': Decimal('61')}])
        proposal, = Proposal.create([{
                    'service': service.id, 'price': Decimal('40.00')}])
        self.assertEqual(proposal.current_price, Decimal('35.00'))
        self.assertEqual(service.list_price, Decimal('35.00'))
        with savepoint(), self.assertRaises(ValidationError):
            # only one open proposal per service
            Proposal.create([{
                        'service': service.id, 'price': Decimal('41.00')}])
        proposal, = Proposal.search([])
        Proposal.approve([proposal])
        service = pool.get('product.template')(service.id)
        self.assertEqual(service.list_price, Decimal('40.00'))
        self.assertEqual(proposal.state, 'approved')
        # A suspended provider cannot propose
        with no_email():
            Contract.do_suspend([application.contract], "Audit")
        with self.assertRaises(ProviderNotActive):
            Proposal.create([{
                        'service': service.id, 'price': Decimal('38.00')}])

    @with_transaction()
    @with_company
    def test_catalogue_search(self):
        "The catalogue lists approved services of active covering contracts"
        pool = Pool()
        Template = pool.get('product.template')
        Contract = pool.get('hb.provider.contract')
        data = create_master_data()
        first = create_provider(data)
        second = create_provider(
            data, 1, name='Ateria Oy', email='ateria@example.com',
            municipalities=('kajaani', 'sotkamo'),
            customer_groups=('avain', 'elderly'),
            services=[('Kotiateria', 'meals', Decimal('9.50'))])

        def names(municipality, group, category=None):
            return sorted(t.name for t in Template.hb_search_catalogue(
                    data[municipality], data[group],
                    data[category] if category else None))
        self.assertEqual(names('kajaani', 'avain'), ['Kotiateria', 'Kotisiivous'])
        self.assertEqual(names('sotkamo', 'avain'), ['Kotiateria'])
        self.assertEqual(names('kajaani', 'elderly'), ['Kotiateria'])
        self.assertEqual(names('kuhmo', 'avain'), [])
        self.assertEqual(
            names('kajaani', 'avain', 'home_help'), ['Kotisiivous'])
        self.assertEqual(names('kajaani', 'avain', 'meals'), ['Kotiateria'])
        with no_email():
            Contract.do_suspend([first.contract], "Audit")
        self.assertEqual(names('kajaani', 'avain'), ['Kotiateria'])
        # A proposed (not yet approved) service is not listed
        service, = second.contract.services
        Template.write([service], {'hb_state': 'proposed'})
        self.assertEqual(names('kajaani', 'avain'), [])

    @with_transaction()
    @with_company
    def test_catalogue_order(self):
        "The catalogue's SQL filter and sorts are those of the Python ones"
        pool = Pool()
        Template = pool.get('product.template')
        Party = pool.get('party.party')
        Rating = pool.get('hb.service.rating')
        Category = pool.get('hb.service.category')
        data = create_master_data()
        first = create_provider(data, services=[
                ('Kotisiivous', 'cleaning', Decimal('35.00')),
                ('kotisiivous', 'cleaning', Decimal('35.00')),
                ('Ikkunanpesu', 'cleaning', Decimal('35.00')),
                ('Äitiysapu', 'home_help', Decimal('20.00')),
                ('Apu', 'home_help', Decimal('20.00')),
                ('Apu', 'home_help', Decimal('20.00')),
                ('Zumba-apu', 'cleaning', Decimal('19.00')),
                ('Pesula', 'cleaning', Decimal('30.00')),
                ('Pihatyöt', 'cleaning', Decimal('33.00')),
                ])
        second = create_provider(
            data, 1, name='Ateria Oy', email='ateria@example.com',
            municipalities=('kajaani', 'sotkamo'),
            customer_groups=('avain', 'elderly'),
            services=[
                ('Kotiateria', 'meals', Decimal('9.50')),
                ('Kotiateria', 'meals', Decimal('9.50')),
                ('Juhla-ateria', 'meals', Decimal('14.00')),
                ])
        # Approved but of a category its contract does not cover
        meal = second.contract.services[0]
        uncovered, = Template.copy([meal], default={
                'name': 'Siivous ilman sopimusta',
                'hb_category': data['cleaning'].id,
                })
        Template.write([uncovered], {'hb_state': 'approved'})
        # A subcategory of a contract's category is covered
        deep, = Category.create([{
                    'name': 'Ikkunat', 'code': 'WINDOWS', 'unit': 'hour',
                    'parent': data['cleaning'].id,
                    }])
        window, = Template.copy([first.contract.services[0]], default={
                'name': 'Ikkunoiden pesu', 'hb_category': deep.id})
        Template.write([window], {'hb_state': 'approved'})
        # The service's own municipalities, groups and active flag narrow
        # its contract's (the one coverage rule: domain and SQL agree)
        sotkamo_only, elderly_only, archived = Template.copy(
            [meal] * 3, default={'hb_state': 'approved'})
        Template.write([sotkamo_only], {
                'name': 'Sotkamon ateria',
                'hb_municipalities': [('remove', [data['kajaani'].id])],
                }, [elderly_only], {
                'name': 'Vanhusten ateria',
                'hb_customer_groups': [('remove', [data['avain'].id])],
                }, [archived], {'name': 'Arkistoitu ateria', 'active': False})
        # Averages 4.15, 4.2 and 4.25 all show as 4.2 (half to even):
        # equal ratings, the cheaper first (not the higher average)
        client, = Party.create([{'name': 'Asiakas'}])
        by_name = {}
        for template in Template.search([('hb_provider', '!=', None)],
                order=[('id', 'ASC')]):
            by_name.setdefault(template.name, template)
        ratings = []
        for name, values in [
                ('Pesula', [4] * 17 + [5] * 3),
                ('Pihatyöt', [4] * 4 + [5]),
                ('Ikkunanpesu', [4] * 3 + [5]),
                ('Zumba-apu', [5, 4]),
                ('Kotiateria', [5, 4]),
                ]:
            ratings.extend({'client': client.id,
                    'service': by_name[name].id, 'rating': r}
                for r in values)
        Rating.create(ratings)
        self.assertEqual(
            [by_name[n].hb_rating for n in ['Pesula', 'Pihatyöt',
                    'Ikkunanpesu']], [Decimal('4.2')] * 3)

        def expected(municipality, group, category, sort):
            "The catalogue as it was sorted in Python, then by id"
            services = Template.search(Template.hb_coverage_domain(
                    municipality, [group], category))
            key = {
                'rating': lambda s: (
                    -(s.hb_rating or 0), s.list_price, s.name, s.id),
                'name': lambda s: (s.name.lower(), s.list_price, s.id),
                'price': lambda s: (s.list_price, s.name.lower(), s.id),
                }[sort]
            return [s.id for s in sorted(services, key=key)]

        cases = [
            ('kajaani', 'avain', None), ('kajaani', 'avain', 'home_help'),
            ('kajaani', 'avain', 'cleaning'), ('sotkamo', 'elderly', None),
            ('kajaani', 'avain', 'meals'), ('kuhmo', 'avain', None),
            ]
        for municipality, group, category in cases:
            for sort in ['price', 'name', 'rating']:
                with self.subTest(municipality=municipality, group=group,
                        category=category, sort=sort):
                    category_ = data[category] if category else None
                    ids = expected(
                        data[municipality], data[group], category_, sort)
                    found = [t.id for t in Template.hb_search_catalogue(
                            data[municipality], data[group], category_,
                            sort=sort)]
                    self.assertEqual(found, ids)
                    for offset, limit in [(0, 4), (4, 4), (8, 4), (12, 4)]:
                        count, page = Template.hb_catalogue_page(
                            data[municipality], data[group], category_,
                            sort=sort, offset=offset, limit=limit)
                        self.assertEqual(count, len(ids))
                        self.assertEqual(page, ids[offset:offset + limit])
        price = expected(data['kajaani'], data['avain'], None, 'price')
        self.assertNotIn(uncovered.id, price)
        self.assertIn(window.id, price)
        self.assertNotIn(sotkamo_only.id, price)
        self.assertNotIn(elderly_only.id, price)
        self.assertNotIn(archived.id, price)
        self.assertIn(sotkamo_only.id,
            expected(data['sotkamo'], data['avain'], None, 'price'))
        self.assertIn(elderly_only.id,
            expected(data['kajaani'], data['elderly'], None, 'price'))
        names = [Template(i).name for i in expected(
                data['kajaani'], data['avain'], None, 'name')]
        self.assertEqual(names[-1], 'Äitiysapu')
        rating = [Template(i).name for i in expected(
                data['kajaani'], data['avain'], None, 'rating')]
        self.assertEqual(rating[:5], ['Kotiateria', 'Zumba-apu',
                'Pesula', 'Pihatyöt', 'Ikkunanpesu'])

    @with_transaction()
    @with_company
    def test_bank_change(self):
        "A bank account change is used for payments only once verified"
        pool = Pool()
        BankChange = pool.get('hb.provider.bank.change')
        data = create_master_data()
        application = create_provider(data)
        party = application.party
        old = party.hb_bank_account
        with savepoint(), self.assertRaises(InvalidIBAN):
            BankChange.create([{
                        'party': party.id, 'iban': 'FI00 1234', 'bic': BIC}])
        self.assertEqual(BankChange.search([], count=True), 0)
        change, = BankChange.create([{
                    'party': party.id, 'iban': IBANS[2].replace(' ', ''),
                    'bic': 'okoyfihh'}])
        self.assertEqual(change.iban, IBANS[2])
        self.assertEqual(party.hb_bank_account, old)
        with self.assertRaises(ReasonRequired):
            BankChange.refuse([change])
        BankChange.verify([change])
        party = pool.get('party.party')(party.id)
        self.assertNotEqual(party.hb_bank_account, old)
        self.assertEqual(party.hb_bank_account.numbers[0].number, IBANS[2])
        self.assertEqual(party.hb_bank_account.bank.bic, 'OKOYFIHH')

    @with_transaction()
    @with_company
    def test_rating_and_gap_report(self):
        "Ratings are 1-5 and averaged; gaps are counted by the report"
        pool = Pool()
        Rating = pool.get('hb.service.rating')
        Party = pool.get('party.party')
        Gap = pool.get('hb.service.gap')
        GapReport = pool.get('hb.service.gap.report')
        Template = pool.get('product.template')
        data = create_master_data()
        application = create_provider(data)
        service, = application.contract.services
        client, = Party.create([{'name': 'Asiakas Esimerkki'}])
        with savepoint(), self.assertRaises(RatingError):
            Rating.create([{
                        'client': client.id, 'service': service.id,
                        'rating': 6}])
        Rating.create([
                {'client': client.id, 'service': service.id, 'rating': 5},
                {'client': client.id, 'service': service.id, 'rating': 4,
                    'comment': '<script>alert(1)</script>'},
                ])
        service = Template(service.id)
        self.assertEqual(service.hb_rating, Decimal('4.5'))
        self.assertEqual(service.hb_rating_count, 2)
        Gap.record_search(data['kuhmo'], data['avain'], data['meals'], 'fi')
        Gap.record_search(data['kuhmo'], data['elderly'], data['meals'], 'en')
        Gap.record_search(data['kuhmo'], data['avain'], None, 'fi')
        Gap.create([{
                    'source': 'own_worker', 'municipality': data['kajaani'].id,
                    'category': data['escort'].id,
                    'description': "No escort in Swedish"}])
        rows = GapReport.search([])
        self.assertEqual(
            sorted(((r.municipality.name, r.category.name if r.category
                        else None, r.count) for r in rows),
                key=lambda r: (r[0], r[1] or '')),
            [('Kajaani', 'Saattaja', 1), ('Kuhmo', None, 1),
                ('Kuhmo', 'Ateriapalvelu', 2)])
        with Transaction().set_context(source='own_worker'):
            self.assertEqual(GapReport.search([], count=True), 1)

    @with_transaction()
    @with_company
    def test_record_rules(self):
        "Own-workers change only their own ratings; marketplace users all"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Gap = pool.get('hb.service.gap')
        data = create_master_data()
        group_hb = ModelData.get_id('hb_budget', 'group_hb')
        group_mk = ModelData.get_id('hb_marketplace', 'group_hb_marketplace')
        worker1, worker2, office = User.create([
                {'login': 'worker1', 'groups': [('add', [group_hb])]},
                {'login': 'worker2', 'groups': [('add', [group_hb])]},
                {'login': 'office', 'groups': [('add', [group_mk])]},
                ])
        with Transaction().set_user(worker1.id), \
                Transaction().set_context(_check_access=True):
            gap, = Gap.create([{
                        'municipality': data['kajaani'].id,
                        'description': "Need"}])
            Gap.write([gap], {'description': "Need of worker 1"})
        with Transaction().set_user(worker2.id), \
                Transaction().set_context(_check_access=True):
            gap = Gap(gap.id)
            self.assertEqual(gap.description, "Need of worker 1")
            with self.assertRaises(UserError):
                Gap.write([gap], {'description': "Changed"})
        with Transaction().set_user(office.id), \
                Transaction().set_context(_check_access=True):
            Gap.write([Gap(gap.id)], {'description': "Checked"})

    @with_transaction()
    @with_company
    def test_approval_keeps_nothing_on_error(self):
        "An approval failing on the login email leaves nothing written"
        pool = Pool()
        Application = pool.get('hb.provider.application')
        Party = pool.get('party.party')
        WebUser = pool.get('web.user')
        data = create_master_data()
        other, = Party.create([{'name': 'Toinen'}])
        WebUser.create([{'email': 'palvelu@example.com', 'party': other.id}])
        application, = Application.create([application_values(data)])
        with no_email():
            Application.submit([application])
            Application.write([application], CHECKLIST)
            with self.assertRaises(UserError):
                Application.approve([application])


del ModuleTestCase
