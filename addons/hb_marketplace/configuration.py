# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.i18n import gettext
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
    hb_portal_password_login = fields.Boolean(
        "Portal Login by Password",
        help="Check if provider staff may log in to the portal with an "
        "email address and a password. Unchecked, only Suomi.fi "
        "e-Identification with a company mandate logs them in.")

    hb_area_name = fields.Char(
        "Wellbeing Area Name", size=200, translate=True,
        help="The name shown with the logo at the top of every public "
        "page. Empty: the company's name.")
    hb_logo = fields.Binary(
        "Logo", file_id='hb_logo_id',
        help="The wellbeing area's logo on every public page "
        "(PNG, JPEG or SVG, about 50 pixels high).")
    hb_logo_id = fields.Char("Logo ID", size=200, readonly=True)
    hb_accessibility = fields.Text(
        "Accessibility Statement", size=50000, translate=True,
        help="The accessibility statement (saavutettavuusseloste) of the "
        "public pages. Empty: the built-in text.")
    hb_privacy = fields.Text(
        "Privacy Notice", size=50000, translate=True,
        help="The privacy notice (tietosuojaseloste) of the public pages. "
        "Empty: the built-in text.")
    hb_contact = fields.Text(
        "Contact Information", size=10000, translate=True,
        help="How clients and providers reach the wellbeing area, shown "
        "on the contact page. Empty: the built-in text.")

    @classmethod
    def default_hb_contract_months(cls):
        return 36

    @classmethod
    def default_hb_portal_timeout(cls):
        return 60

    @classmethod
    def default_hb_portal_password_login(cls):
        return True

    def get_hb_portal_timeout(self):
        "Return the portal session timeout in seconds"
        return (self.hb_portal_timeout or 60) * 60

    def get_hb_page_text(self, name):
        """Return the text of the public page name (rulebook,
        accessibility, privacy, contact): the settings' text in the
        context language, else the built-in one"""
        return getattr(self, 'hb_' + name) or gettext(
            'hb_marketplace.msg_page_%s_default' % name)
