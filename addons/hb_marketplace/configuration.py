# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.model import fields
from trytond.pool import PoolMeta


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_rulebook = fields.Text(
        "Rulebook", size=100000, translate=True,
        help="The rulebook (sääntökirja) that binds approved providers; "
        "applicants must accept it.")
    hb_contract_months = fields.Integer(
        "Contract Length",
        domain=['OR',
            ('hb_contract_months', '=', None),
            ('hb_contract_months', '>', 0),
            ],
        help="The validity of a new provider contract, in months. "
        "Empty: until further notice.")
    hb_mail_from = fields.Char(
        "Sender Email", size=254,
        help="The From address of marketplace emails. "
        "Empty: the server's default.")
    hb_site_url = fields.Char(
        "Public Address", size=2000,
        help="The address of the public pages as seen by users, "
        "e.g. https://palvelut.example.fi; used in links of emails.")
    hb_portal_timeout = fields.Integer(
        "Portal Session Timeout",
        domain=['OR',
            ('hb_portal_timeout', '=', None),
            ('hb_portal_timeout', '>', 0),
            ],
        help="Minutes of inactivity after which a provider portal "
        "session ends.")

    @classmethod
    def default_hb_contract_months(cls):
        return 36

    @classmethod
    def default_hb_portal_timeout(cls):
        return 60

    def get_hb_portal_timeout(self):
        "Return the portal session timeout in seconds"
        return (self.hb_portal_timeout or 60) * 60
