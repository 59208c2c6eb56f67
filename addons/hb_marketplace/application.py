# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime

from dateutil.relativedelta import relativedelta
from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import (
    Exclude,
    ModelSQL,
    ModelView,
    Workflow,
    fields,
)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction

from trytond.modules.hb_budget.master import UNITS

from . import mail
from .exceptions import (
    ApplicationIncomplete,
    DuplicateApplication,
    ExistingProviderWarning,
    PortalUserError,
    ProviderConfirmationError,
    ReasonRequired,
    RulebookNotAccepted,
)
from .tools import (
    LANGUAGES,
    format_bic,
    format_business_id,
    format_email,
    format_iban,
    format_phone,
    format_vat_number,
)

OPEN_STATES = ['draft', 'submitted', 'information_requested']
STATES = [
    ('draft', "Draft"),
    ('submitted', "Submitted"),
    ('information_requested', "Information Requested"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ]
# The approval criteria of the service voucher law (569/2009, 5 §)
# and of the rulebook, checked by the reviewer.
CHECKLIST = [
    'check_prepayment_register',
    'check_social_service_register',
    'check_liability_insurance',
    'check_self_monitoring_plan',
    'check_quality',
    'check_staff_suitability',
    ]
PROVIDER_CONFIRMATIONS = [
    (None, ""),
    ('pending', "Waiting for the Provider"),
    ('confirmed', "Confirmed by the Provider"),
    ('declined', "Declined by the Provider"),
    ]
ATTACHMENT_KINDS = [
    ('liability_insurance', "Liability insurance certificate"),
    ('prepayment_register', "Prepayment register extract"),
    ('self_monitoring_plan', "Self-monitoring plan"),
    ]


class Application(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.provider.application'
    __string__ = "Provider Application"

    _states = {
        'readonly': ~Eval('state').in_(['draft', 'information_requested']),
        }
    _review_states = {
        'readonly': ~Eval('state').in_(['submitted']),
        }

    number = fields.Char("Number", size=50, readonly=True)
    name = fields.Char(
        "Provider Name", size=200, required=True, states=_states,
        help="The business or association name of the provider.")
    business_id = fields.Char(
        "Business ID", size=20, required=True, states=_states,
        help="The Finnish business ID (Y-tunnus), e.g. 1234567-8.")
    vat_number = fields.Char(
        "VAT Number", size=30, states=_states,
        help="The EU VAT number (e.g. FI12345678), if registered for VAT.")
    street = fields.Text("Street", size=500, states=_states)
    postal_code = fields.Char("Postal Code", size=20, states=_states)
    city = fields.Char("City", size=100, states=_states)
    contact_name = fields.Char(
        "Contact Person", size=200, required=True, states=_states)
    email = fields.Char("Email", size=254, required=True, states=_states)
    phone = fields.Char("Phone", size=30, required=True, states=_states)
    language = fields.Selection(
        LANGUAGES, "Language", required=True, states=_states,
        help="The language in which the applicant is contacted.")
    iban = fields.Char("IBAN", size=50, required=True, states=_states)
    bic = fields.Char("BIC", size=20, required=True, states=_states)
    description = fields.Text(
        "Presentation", size=5000, states=_states,
        help="How the provider presents itself to clients.")
    municipalities = fields.Many2Many(
        'hb.provider.application-hb.municipality', 'application',
        'municipality', "Municipalities Served", states=_states)
    categories = fields.Many2Many(
        'hb.provider.application-hb.service.category', 'application',
        'category', "Service Categories", states=_states)
    customer_groups = fields.Many2Many(
        'hb.provider.application-hb.customer.group', 'application',
        'customer_group', "Customer Groups", states=_states)
    services = fields.One2Many(
        'hb.provider.application.service', 'application',
        "Proposed Services", states=_states)
    rulebook_accepted = fields.Boolean(
        "Rulebook Accepted", states=_states,
        help="The applicant accepts the rulebook (sääntökirja).")
    submitted_at = fields.Timestamp("Submitted at", readonly=True)

    check_prepayment_register = fields.Boolean(
        "In the Prepayment Register", states=_review_states,
        help="The provider is in the prepayment register "
        "(ennakkoperintärekisteri).")
    check_social_service_register = fields.Boolean(
        "In the Register of Social Service Providers",
        states=_review_states,
        help="The provider is registered as a private social service "
        "provider (Soteri register) where the law requires it.")
    check_liability_insurance = fields.Boolean(
        "Adequate Liability Insurance", states=_review_states)
    check_self_monitoring_plan = fields.Boolean(
        "Self-Monitoring Plan", states=_review_states,
        help="The provider has a self-monitoring plan "
        "(omavalvontasuunnitelma).")
    check_quality = fields.Boolean(
        "Quality at Least That of the Public Service",
        states=_review_states)
    check_staff_suitability = fields.Boolean(
        "Staff Suitability Checked", states=_review_states,
        help="Extra criteria of the wellbeing area, e.g. criminal record "
        "checks of staff working with children.")
    review_note = fields.Text(
        "Review Note", size=10000, states=_review_states)
    information_request = fields.Text(
        "Information Requested", size=5000,
        states={
            'readonly': ~Eval('state').in_(['submitted']),
            },
        help="What the applicant is asked to add; sent by email.")
    rejection_reason = fields.Text(
        "Rejection Reason", size=5000,
        states={
            'readonly': ~Eval('state').in_(
                ['submitted', 'information_requested']),
            },
        help="Why the application is rejected; sent by email.")
    reviewed_by = fields.Many2One('res.user', "Reviewed by", readonly=True)
    reviewed_at = fields.Timestamp("Reviewed at", readonly=True)

    existing_party = fields.Many2One(
        'party.party', "Existing Provider", readonly=True,
        help="The party that already has the business ID: the application "
        "asks to change that provider and needs its confirmation.")
    provider_confirmation = fields.Selection(
        PROVIDER_CONFIRMATIONS, "Provider Confirmation", readonly=True,
        states={
            'invisible': ~Eval('existing_party'),
            },
        help="The answer of the existing provider, given in its portal.")
    provider_decided_by = fields.Many2One(
        'web.user', "Answered by", readonly=True,
        states={
            'invisible': ~Eval('provider_decided_by'),
            },
        help="The portal login of the existing provider that answered.")
    provider_decided_at = fields.Timestamp(
        "Answered at", readonly=True,
        states={
            'invisible': ~Eval('provider_decided_at'),
            })
    party = fields.Many2One('party.party', "Provider", readonly=True)
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", readonly=True)
    web_user = fields.Many2One('web.user', "Portal Login", readonly=True)
    state = fields.Selection(STATES, "State", readonly=True, required=True,
        sort=False)

    del _states, _review_states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('business_id_open_exclude',
                Exclude(t, (t.business_id, Equal),
                    where=t.state.in_(OPEN_STATES)),
                'hb_marketplace.msg_application_duplicate_open_constraint'),
            ]
        cls._order.insert(0, ('submitted_at', 'DESC NULLS FIRST'))
        cls._transitions |= {
            ('draft', 'submitted'),
            ('submitted', 'information_requested'),
            ('information_requested', 'submitted'),
            ('submitted', 'approved'),
            ('submitted', 'rejected'),
            ('information_requested', 'rejected'),
            }
        cls._buttons.update({
                'submit': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'information_requested']),
                    'depends': ['state'],
                    },
                'request_information': {
                    'invisible': Eval('state') != 'submitted',
                    'readonly': ~Bool(Eval('information_request')),
                    'depends': ['state', 'information_request'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'submitted',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': ~Eval('state').in_(
                        ['submitted', 'information_requested']),
                    'readonly': ~Bool(Eval('rejection_reason')),
                    'depends': ['state', 'rejection_reason'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//group[@id="existing"]', 'states', {
                    'invisible': ~Eval('existing_party'),
                    }),
            ('/tree/field[@name="existing_party"]', 'visual',
                If(Bool(Eval('existing_party')), 'danger', '')),
            ]

    @classmethod
    def default_language(cls):
        return 'fi'

    @classmethod
    def default_rulebook_accepted(cls):
        return False

    def get_rec_name(self, name):
        if self.number:
            return '%s - %s' % (self.number, self.name)
        return self.name

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('name', operator, operand, *extra),
            ('business_id', operator, operand, *extra),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        "Store identifiers in their canonical form when they are valid"
        values = super().preprocess_values(mode, values)
        formats = {
            'business_id': format_business_id,
            'vat_number': format_vat_number,
            'iban': format_iban,
            'bic': format_bic,
            'email': format_email,
            'phone': format_phone,
            }
        for field, format_ in formats.items():
            if values.get(field):
                try:
                    values[field] = format_(values[field])
                except Exception:
                    pass  # validate refuses it with its message
        if mode == 'create' and values.get('business_id') and (
                values.get('state', 'draft') in OPEN_STATES):
            # Before the SQL constraint, with a clearer message
            cls._check_open_duplicate(values['business_id'])
        return values

    @classmethod
    def validate_fields(cls, applications, field_names):
        super().validate_fields(applications, field_names)
        cls.check_identifiers(applications, field_names)
        cls.check_open_duplicate(applications, field_names)

    @classmethod
    def check_identifiers(cls, applications, field_names=None):
        checks = [
            ('business_id', format_business_id),
            ('vat_number', format_vat_number),
            ('email', format_email),
            ('phone', format_phone),
            ('iban', format_iban),
            ('bic', format_bic),
            ]
        for application in applications:
            for field, check in checks:
                if field_names and field not in field_names:
                    continue
                value = getattr(application, field)
                if value or field != 'vat_number':
                    check(value)

    @classmethod
    def check_open_duplicate(cls, applications, field_names=None):
        "Refuse a second open application for the same business ID"
        if field_names and not (field_names & {'business_id', 'state'}):
            return
        for application in applications:
            if application.state not in OPEN_STATES:
                continue
            cls._check_open_duplicate(
                application.business_id, application.id)

    @classmethod
    def _check_open_duplicate(cls, business_id, exclude_id=None):
        others = cls.search([
                ('business_id', '=', business_id),
                ('state', 'in', OPEN_STATES),
                ('id', '!=', exclude_id),
                ], limit=1)
        if others:
            other, = others
            raise DuplicateApplication(gettext(
                    'hb_marketplace.msg_application_duplicate_open',
                    business_id=business_id, application=other.rec_name))

    @classmethod
    def check_modification(cls, mode, applications, values=None,
            external=False):
        super().check_modification(
            mode, applications, values=values, external=external)
        if mode == 'delete':
            for application in applications:
                if application.state not in {'draft', 'rejected'}:
                    raise AccessError(gettext(
                            'hb_marketplace.msg_application_delete',
                            application=application.rec_name))

    @classmethod
    def copy(cls, applications, default=None):
        default = default.copy() if default is not None else {}
        for field in ['number', 'submitted_at', 'party', 'contract',
                'web_user', 'reviewed_by', 'reviewed_at',
                'information_request', 'rejection_reason', 'review_note',
                'existing_party', 'provider_confirmation',
                'provider_decided_by', 'provider_decided_at']:
            default.setdefault(field, None)
        for field in CHECKLIST:
            default.setdefault(field, False)
        return super().copy(applications, default=default)

    @property
    def missing_checks(self):
        "The names of the approval criteria not yet checked"
        return [f for f in CHECKLIST if not getattr(self, f)]

    def check_submittable(self):
        if not self.rulebook_accepted:
            raise RulebookNotAccepted(gettext(
                    'hb_marketplace.msg_application_rulebook',
                    application=self.rec_name))
        if not self.services:
            raise ApplicationIncomplete(gettext(
                    'hb_marketplace.msg_application_no_service',
                    application=self.rec_name))
        if not self.municipalities or not self.customer_groups:
            raise ApplicationIncomplete(gettext(
                    'hb_marketplace.msg_application_no_area',
                    application=self.rec_name))

    @classmethod
    def set_number(cls, applications):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        sequence = Sequence(ModelData.get_id(
                'hb_marketplace', 'sequence_provider_application'))
        for application in applications:
            if not application.number:
                application.number = sequence.get()
        cls.save(applications)

    def find_existing_party(self):
        "Return the active party that already has the business ID, or None"
        pool = Pool()
        Identifier = pool.get('party.identifier')
        identifiers = Identifier.search([
                ('type', '=', 'fi_ytunnus'),
                ('code', '=', self.business_id),
                ('party.active', '=', True),
                ], order=[('id', 'ASC')], limit=1)
        if identifiers:
            return identifiers[0].party

    @classmethod
    def set_existing_party(cls, applications):
        """Link the applications to the provider that already has their
        business ID; return those that wait for its confirmation anew"""
        waiting = []
        for application in applications:
            party = application.find_existing_party()
            if party == application.existing_party:
                continue
            application.existing_party = party
            application.provider_confirmation = 'pending' if party else None
            application.provider_decided_by = None
            application.provider_decided_at = None
            if party:
                waiting.append(application)
        cls.save(applications)
        return waiting

    @property
    def existing_portal_users(self):
        "The active portal logins of the existing provider"
        pool = Pool()
        WebUser = pool.get('web.user')
        if not self.existing_party:
            return []
        return WebUser.search([
                ('party', '=', self.existing_party.id),
                ('active', '=', True),
                ], order=[('id', 'ASC')])

    def check_provider_confirmation(self):
        """Refuse the approval of a change request for an existing provider
        that one of its portal logins has not confirmed"""
        party = self.find_existing_party()
        if not party and not self.existing_party:
            return
        variables = {
            'application': self.rec_name,
            'party': (party or self.existing_party).rec_name,
            'business_id': self.business_id,
            }
        if party != self.existing_party:
            message = 'msg_application_provider_not_confirmed'
        elif self.provider_confirmation == 'declined':
            message = 'msg_application_provider_declined'
        elif (self.provider_confirmation == 'confirmed'
                and self.provider_decided_by
                and self.provider_decided_by.party == party):
            return
        elif not self.existing_portal_users:
            message = 'msg_application_provider_no_login'
        else:
            message = 'msg_application_provider_not_confirmed'
        raise ProviderConfirmationError(gettext(
                'hb_marketplace.' + message, **variables))

    @classmethod
    def decide_by_provider(cls, applications, web_user, confirm):
        """Record the answer of web_user, a portal login of the existing
        provider, to the applications concerning it"""
        for application in applications:
            if (not application.existing_party
                    or web_user.party != application.existing_party
                    or application.state not in {
                        'submitted', 'information_requested'}
                    or application.provider_confirmation != 'pending'):
                raise ProviderConfirmationError(gettext(
                        'hb_marketplace.msg_application_provider_answered',
                        application=application.rec_name))
        cls.write(applications, {
                'provider_confirmation': (
                    'confirmed' if confirm else 'declined'),
                'provider_decided_by': web_user.id,
                'provider_decided_at': datetime.datetime.now(),
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('submitted')
    def submit(cls, applications):
        for application in applications:
            application.check_submittable()
        cls.set_number(applications)
        now = datetime.datetime.now()
        cls.write([a for a in applications if not a.submitted_at], {
                'submitted_at': now,
                })
        waiting = cls.set_existing_party(applications)
        for application in applications:
            application.send_email('received')
        for application in waiting:
            application.send_existing_provider_email()

    @classmethod
    @ModelView.button
    @Workflow.transition('information_requested')
    def request_information(cls, applications):
        for application in applications:
            if not application.information_request:
                raise ReasonRequired(gettext(
                        'hb_marketplace.msg_application_request_empty',
                        application=application.rec_name))
        cls._set_reviewer(applications)
        for application in applications:
            application.send_email('information_requested')

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, applications):
        for application in applications:
            if not application.rejection_reason:
                raise ReasonRequired(gettext(
                        'hb_marketplace.msg_application_reason_empty',
                        application=application.rec_name))
        cls._set_reviewer(applications)
        for application in applications:
            application.send_email('rejected')

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, applications):
        pool = Pool()
        Field = pool.get('ir.model.field')
        for application in applications:
            if missing := application.missing_checks:
                names = [Field.get_name(cls.__name__, f) for f in missing]
                raise ApplicationIncomplete(gettext(
                        'hb_marketplace.msg_application_checklist',
                        application=application.rec_name,
                        checks=', '.join(names)))
            application.check_submittable()
            for line in application.services:
                line.check_price()
            application.check_provider_confirmation()
        cls.check_existing_warning(applications)
        cls._set_reviewer(applications)
        cls.create_providers(applications)

    @classmethod
    def check_existing_warning(cls, applications):
        "Warn the reviewer that an application changes an existing provider"
        pool = Pool()
        Warning = pool.get('res.user.warning')
        for application in applications:
            if not application.existing_party:
                continue
            key = Warning.format('hb_application_existing', [application])
            if Warning.check(key):
                raise ExistingProviderWarning(key, gettext(
                        'hb_marketplace.msg_application_existing_warning',
                        application=application.rec_name,
                        party=application.existing_party.rec_name))

    @classmethod
    def _set_reviewer(cls, applications):
        cls.write(applications, {
                'reviewed_by': Transaction().user or None,
                'reviewed_at': datetime.datetime.now(),
                })

    @classmethod
    def create_providers(cls, applications):
        """Create what an approved provider needs: party, bank account,
        contract, portal login and catalogue services"""
        pool = Pool()
        Party = pool.get('party.party')
        Contract = pool.get('hb.provider.contract')
        WebUser = pool.get('web.user')
        Template = pool.get('product.template')
        BankChange = pool.get('hb.provider.bank.change')

        parties = [a.get_party() for a in applications]
        Party.save(parties)
        bank_changes = []
        for application, party in zip(applications, parties):
            application.party = party
            if application.existing_party:
                # An existing provider's account changes only once the
                # back office verifies the change
                change = application.get_bank_change()
                if change:
                    bank_changes.append(change)
            else:
                party.hb_bank_account = party.get_hb_bank_account(
                    application.iban, application.bic)
        Party.save(parties)
        BankChange.save(bank_changes)

        contracts = [a.get_contract() for a in applications]
        Contract.save(contracts)
        Contract.activate(contracts)
        web_users = [a.get_web_user() for a in applications]
        WebUser.save(web_users)
        templates = []
        for application, contract, web_user in zip(
                applications, contracts, web_users):
            application.contract = contract
            application.web_user = web_user
            templates.extend(application.get_services())
        Template.save(templates)
        cls.save(applications)
        for application in applications:
            application.send_email('approved')

    def get_party(self):
        """Return the provider party: the existing one that confirmed the
        application, else a new one"""
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Address = pool.get('party.address')
        ContactMechanism = pool.get('party.contact_mechanism')
        Lang = pool.get('ir.lang')
        Country = pool.get('country.country')

        if self.existing_party:
            party = self.existing_party
            # Confirmed by the provider and reviewed with the application
            if self.description:
                party.hb_provider_description = self.description
            return party
        party = Party(name=self.name)
        party.identifiers = [
            Identifier(type='fi_ytunnus', code=self.business_id)]
        if self.vat_number:
            party.identifiers += (
                Identifier(type='eu_vat', code=self.vat_number),)
        countries = Country.search([('code', '=', 'FI')], limit=1)
        party.addresses = [Address(
                street=self.street, postal_code=self.postal_code,
                city=self.city,
                country=countries[0] if countries else None)]
        party.contact_mechanisms = [
            ContactMechanism(
                type='email', value=self.email, name=self.contact_name),
            ContactMechanism(
                type='phone', value=self.phone, name=self.contact_name),
            ]
        langs = Lang.search([('code', '=', self.language)], limit=1)
        if langs:
            party.lang, = langs
        party.hb_provider_description = self.description
        return party

    def get_bank_change(self):
        """Return the request to pay the existing provider to the account of
        the application (unsaved), None when it is paid there already"""
        pool = Pool()
        BankChange = pool.get('hb.provider.bank.change')
        party = self.party
        compact = self.iban.replace(' ', '')
        account = party.hb_bank_account
        if account and any(n.type == 'iban' and n.number_compact == compact
                for n in account.numbers):
            return None
        requested = BankChange.search([
                ('party', '=', party.id),
                ('state', '=', 'requested'),
                ])
        if requested:
            if any(c.iban.replace(' ', '') == compact for c in requested):
                return None
            raise ProviderConfirmationError(gettext(
                    'hb_marketplace.msg_application_bank_change_open',
                    application=self.rec_name, party=party.rec_name))
        return BankChange(
            party=party, iban=self.iban, bic=self.bic,
            web_user=self.provider_decided_by)

    def get_contract(self):
        "Return the new contract of the approved provider (unsaved)"
        pool = Pool()
        Contract = pool.get('hb.provider.contract')
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        configuration = Configuration(1)
        today = Date.today()
        end_date = None
        if configuration.hb_contract_months:
            end_date = (today + relativedelta(
                    months=configuration.hb_contract_months, days=-1))
        categories = set(self.categories) | {
            s.category for s in self.services}
        return Contract(
            provider=self.party, application=self,
            start_date=today, end_date=end_date,
            municipalities=self.municipalities,
            categories=list(categories),
            customer_groups=self.customer_groups)

    def get_web_user(self):
        "Return the portal login of the provider (unsaved)"
        pool = Pool()
        WebUser = pool.get('web.user')
        users = WebUser.search([('email', '=', self.email)], limit=1)
        if users:
            user, = users
            if user.party and user.party != self.party:
                raise PortalUserError(gettext(
                        'hb_marketplace.msg_web_user_other_party',
                        email=self.email, party=user.party.rec_name))
        else:
            user = WebUser(email=self.email)
        user.party = self.party
        user.set_reset_password_token()
        return user

    def get_services(self):
        "Return the catalogue services of the application (unsaved)"
        return [line.get_template(self) for line in self.services]

    def send_existing_provider_email(self):
        """Tell the portal logins of the existing provider that an
        application was made with its business ID"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        party = self.existing_party
        language = party.lang.code if party.lang else 'fi'
        if language not in {'fi', 'en'}:
            language = 'fi'
        base = (Configuration(1).hb_site_url or '').rstrip('/')
        url = '%s/%s/hb/provider?lang=%s' % (
            base, Transaction().database.name, language)
        with Transaction().set_context(language=language):
            variables = {
                'provider': party.name,
                'number': self.number or '',
                'name': self.name,
                'business_id': self.business_id,
                'contact': self.contact_name,
                'email': self.email,
                'url': url,
                }
            subject = gettext(
                'hb_marketplace.msg_email_application_existing_subject',
                **variables)
            body = gettext(
                'hb_marketplace.msg_email_application_existing_body',
                **variables)
        return [mail.send_email(user.email, subject, body, self)
            for user in self.existing_portal_users]

    def get_password_url(self):
        "Return the link where the provider's login chooses its password"
        return mail.password_url(self.web_user, self.language)

    def send_email(self, kind):
        "Send the applicant the email of kind (received, approved...)"
        language = self.language if self.language in {
            'fi', 'sv', 'en'} else 'fi'
        with Transaction().set_context(language=language):
            variables = {
                'name': self.name,
                'number': self.number or '',
                'information': self.information_request or '',
                'reason': self.rejection_reason or '',
                'url': '',
                }
            if kind == 'approved':
                variables['url'] = self.get_password_url()
            subject = gettext(
                'hb_marketplace.msg_email_application_%s_subject' % kind,
                **variables)
            body = gettext(
                'hb_marketplace.msg_email_application_%s_body' % kind,
                **variables)
        return mail.send_email(self.email, subject, body, self)


class ApplicationService(ModelSQL, ModelView):
    __name__ = 'hb.provider.application.service'
    __string__ = "Proposed Service"

    _states = {
        'readonly': (Eval('_parent_application', {}).get('state', 'draft')
            .in_(['submitted', 'approved', 'rejected'])),
        }

    application = fields.Many2One(
        'hb.provider.application', "Application", required=True,
        ondelete='CASCADE')
    name = fields.Char("Name", size=200, required=True, states=_states)
    category = fields.Many2One(
        'hb.service.category', "Category", required=True, states=_states)
    unit = fields.Selection(UNITS, "Unit", required=True, states=_states)
    price = fields.Numeric(
        "Price per Unit", digits=(16, 2), required=True, states=_states,
        help="VAT included: what the personal budget pays.")
    price_cap = fields.Function(fields.Numeric(
            "Price Cap", digits=(16, 2)), 'on_change_with_price_cap')
    languages = fields.MultiSelection(
        LANGUAGES, "Languages", states=_states,
        help="The languages in which the service is given.")
    description = fields.Text("Description", size=5000, states=_states)

    del _states

    @classmethod
    def default_unit(cls):
        return 'hour'

    @classmethod
    def default_languages(cls):
        return ['fi']

    @fields.depends('category')
    def on_change_category(self):
        if self.category:
            self.unit = self.category.unit

    @fields.depends('category')
    def on_change_with_price_cap(self, name=None):
        if self.category:
            return self.category.get_price_cap()

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if not field_names or field_names & {'price', 'category'}:
            for line in lines:
                line.check_price()

    def check_price(self):
        pool = Pool()
        Template = pool.get('product.template')
        Template.check_hb_price(
            self.price, self.category.get_price_cap(), self.name)

    def get_template(self, application=None):
        "Return the catalogue service of this line (unsaved)"
        pool = Pool()
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        if application is None:
            application = self.application
        template = Template(
            name=self.name, type='service',
            default_uom=Template.hb_default_uom(self.unit),
            list_price=self.price,
            hb_provider=application.party,
            hb_contract=application.contract,
            hb_category=self.category,
            hb_unit=self.unit,
            hb_customer_groups=application.customer_groups,
            hb_municipalities=application.municipalities,
            hb_languages=self.languages or [],
            hb_description=self.description,
            hb_state='approved',
            products=[Product()])
        return template


class ApplicationMunicipality(ModelSQL):
    __name__ = 'hb.provider.application-hb.municipality'
    __string__ = "Application - Municipality"
    application = fields.Many2One(
        'hb.provider.application', "Application", required=True,
        ondelete='CASCADE')
    municipality = fields.Many2One(
        'hb.municipality', "Municipality", required=True,
        ondelete='CASCADE')


class ApplicationCategory(ModelSQL):
    __name__ = 'hb.provider.application-hb.service.category'
    __string__ = "Application - Service Category"
    application = fields.Many2One(
        'hb.provider.application', "Application", required=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Category", required=True,
        ondelete='CASCADE')


class ApplicationCustomerGroup(ModelSQL):
    __name__ = 'hb.provider.application-hb.customer.group'
    __string__ = "Application - Customer Group"
    application = fields.Many2One(
        'hb.provider.application', "Application", required=True,
        ondelete='CASCADE')
    customer_group = fields.Many2One(
        'hb.customer.group', "Customer Group", required=True,
        ondelete='CASCADE')

