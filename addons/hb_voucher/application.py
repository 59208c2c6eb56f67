# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'

    hb_provider = fields.Many2One(
        'party.party', "Provider", ondelete='CASCADE',
        states={
            'invisible': Eval('application') != 'hb_voucher',
            'required': Eval('application') == 'hb_voucher',
            },
        help="The provider whose terminals use the key.")
    hb_name = fields.Char(
        "Name", size=200,
        states={
            'invisible': Eval('application') != 'hb_voucher',
            },
        help="The provider's name of the key, e.g. the terminal.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        selection = ('hb_voucher', "Personal Budget Terminal API")
        if selection not in cls.application.selection:
            cls.application.selection.append(selection)

    @classmethod
    def hb_create_key(cls, provider, name=None):
        "Create a validated key for provider and return the key"
        application = cls(
            application='hb_voucher', hb_provider=provider, hb_name=name,
            state='validated')
        application.save()
        return application.key

    @classmethod
    def hb_revoke(cls, provider, application_id):
        "Revoke the key application_id of provider; tell if it was found"
        applications = cls.search([
                ('id', '=', int(application_id)),
                ('application', '=', 'hb_voucher'),
                ('hb_provider', '=', provider.id),
                ('state', '!=', 'cancelled'),
                ])
        if applications:
            cls.cancel(applications)
        return bool(applications)

    @classmethod
    def hb_keys(cls, provider):
        "Return the keys of provider, newest first"
        return cls.search([
                ('application', '=', 'hb_voucher'),
                ('hb_provider', '=', provider.id),
                ], order=[('id', 'DESC')])
