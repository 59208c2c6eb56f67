# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The contact person's phone on the decision letter (Hallintolaki 44 §:
the contact details of the person who gives more information). The phone
is the first phone or mobile number of the contact user's employee party
(the employee of the user in the decision's company, else the user's
current employee)."""
from trytond.i18n import gettext
from trytond.pool import PoolMeta
from trytond.transaction import Transaction, without_check_access

PHONE_TYPES = ('phone', 'mobile')


class Decision(metaclass=PoolMeta):
    __name__ = 'hb.decision'

    def get_contact_phone(self):
        "Return the phone number of the letter's contact person or None"
        user = self.contact
        if not user:
            return None
        with without_check_access():
            employees = [e for e in user.employees
                if e.company == self.company]
            if user.employee and user.employee not in employees:
                employees.append(user.employee)
            for employee in employees:
                for mechanism in employee.party.contact_mechanisms:
                    if mechanism.type in PHONE_TYPES and mechanism.value:
                        return mechanism.value
        return None

    def get_contact_phone_text(self):
        "The letter's phone of the contact person (decision language), else ''"
        phone = self.get_contact_phone()
        if not phone:
            return ''
        language = self.language.code if self.language else None
        with Transaction().set_context(language=language):
            return gettext('hb_budget.msg_letter_contact_phone', phone=phone)
