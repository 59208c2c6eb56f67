# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime

from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

from .exceptions import ReasonRequired
from .tools import format_bic, format_iban


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    hb_contracts = fields.One2Many(
        'hb.provider.contract', 'provider', "Provider Contracts",
        readonly=True)
    hb_services = fields.One2Many(
        'product.template', 'hb_provider', "Catalogue Services",
        readonly=True)
    hb_bank_account = fields.Many2One(
        'bank.account', "Payment Bank Account", ondelete='RESTRICT',
        domain=[
            ('owners', '=', Eval('id', -1)),
            ],
        help="The verified account to which the provider is paid.")
    hb_provider_description = fields.Text(
        "Provider Presentation", size=5000, translate=True,
        help="How the provider presents itself in the catalogue.")

    def get_hb_bank_account(self, iban, bic):
        """Return the bank account of the party for iban, created (and
        saved, with its bank from bic) when it does not exist"""
        pool = Pool()
        Account = pool.get('bank.account')
        Number = pool.get('bank.account.number')
        Bank = pool.get('bank')
        Party = pool.get('party.party')
        iban = format_iban(iban)
        bic = format_bic(bic)
        compact = iban.replace(' ', '')
        numbers = Number.search([
                ('type', '=', 'iban'),
                ('number_compact', '=', compact),
                ('account.owners', '=', self.id),
                ], limit=1)
        if numbers:
            return numbers[0].account
        banks = Bank.search([('bic', '=', bic)], limit=1)
        if banks:
            bank, = banks
        else:
            bank_party = Party(name=bic)
            bank_party.save()
            bank = Bank(party=bank_party, bic=bic)
            bank.save()
        account = Account(
            bank=bank, owners=[self], numbers=[Number(type='iban',
                    number=iban)])
        account.save()
        return account


class BankChange(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.provider.bank.change'
    __string__ = "Provider Bank Account Change"

    _states = {
        'readonly': Eval('state') != 'requested',
        }

    party = fields.Many2One(
        'party.party', "Provider", required=True, ondelete='CASCADE',
        states=_states)
    iban = fields.Char("IBAN", size=50, required=True, states=_states)
    bic = fields.Char("BIC", size=20, required=True, states=_states)
    web_user = fields.Many2One('web.user', "Requested by", readonly=True)
    current_account = fields.Function(fields.Many2One(
            'bank.account', "Current Account"),
        'on_change_with_current_account')
    refusal_reason = fields.Text(
        "Refusal Reason", size=5000, states=_states)
    decided_by = fields.Many2One('res.user', "Decided by", readonly=True)
    decided_at = fields.Timestamp("Decided at", readonly=True)
    state = fields.Selection([
            ('requested', "Requested"),
            ('verified', "Verified"),
            ('refused', "Refused"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_open_exclude',
                Exclude(t, (t.party, Equal), where=t.state == 'requested'),
                'hb_marketplace.msg_bank_change_open'),
            ]
        cls._order.insert(0, ('create_date', 'DESC'))
        cls._transitions |= {
            ('requested', 'verified'),
            ('requested', 'refused'),
            }
        cls._buttons.update({
                'verify': {
                    'invisible': Eval('state') != 'requested',
                    'depends': ['state'],
                    },
                'refuse': {
                    'invisible': Eval('state') != 'requested',
                    'readonly': ~Bool(Eval('refusal_reason')),
                    'depends': ['state', 'refusal_reason'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'requested'

    @fields.depends('party')
    def on_change_with_current_account(self, name=None):
        if self.party:
            return self.party.hb_bank_account

    def get_rec_name(self, name):
        return '%s: %s' % (self.party.rec_name, self.iban)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        for field, format_ in [('iban', format_iban), ('bic', format_bic)]:
            if values.get(field):
                try:
                    values[field] = format_(values[field])
                except Exception:
                    pass
        return values

    @classmethod
    def validate_fields(cls, changes, field_names):
        super().validate_fields(changes, field_names)
        for change in changes:
            if not field_names or 'iban' in field_names:
                format_iban(change.iban)
            if not field_names or 'bic' in field_names:
                format_bic(change.bic)

    @classmethod
    def _decide(cls, changes):
        cls.write(changes, {
                'decided_by': Transaction().user or None,
                'decided_at': datetime.datetime.now(),
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('verified')
    def verify(cls, changes):
        "Use the new accounts for payments from now on"
        pool = Pool()
        Party = pool.get('party.party')
        parties = []
        for change in changes:
            party = change.party
            party.hb_bank_account = party.get_hb_bank_account(
                change.iban, change.bic)
            parties.append(party)
        Party.save(parties)
        cls._decide(changes)

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, changes):
        for change in changes:
            if not change.refusal_reason:
                raise ReasonRequired(gettext(
                        'hb_marketplace.msg_bank_change_reason',
                        change=change.rec_name))
        cls._decide(changes)
