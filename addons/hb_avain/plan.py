# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The days off a carer exchanges for the budget, on the client plan: the
unit is the day (Tryton's own unit of measure "day") and the unit cost the
pilot's value of a day off, so a plan reads "2 days × €100"."""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta

from .exceptions import DaysOffError


class PlanService(metaclass=PoolMeta):
    __name__ = 'hb.plan.service'

    avain_days_off = fields.Boolean(
        "Exchanged Days Off",
        help="Check for the carer's days off exchanged for the budget "
        "(AVAIN pilot): counted in days at the pilot's value of a day off.")
    uom = fields.Function(
        fields.Many2One('product.uom', "Unit of Measure"),
        'on_change_with_uom')

    @classmethod
    def default_avain_days_off(cls):
        return False

    @fields.depends('avain_days_off')
    def on_change_with_unit(self, name=None):
        if self.avain_days_off:
            return 'day'
        return super().on_change_with_unit(name=name)

    @fields.depends(methods=['on_change_with_unit'])
    def on_change_with_uom(self, name=None):
        pool = Pool()
        Template = pool.get('product.template')
        unit = self.on_change_with_unit()
        if unit:
            return Template.hb_default_uom(unit)

    @fields.depends('avain_days_off', 'unit_cost',
        methods=['on_change_with_monthly_cost'])
    def on_change_avain_days_off(self):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        if self.avain_days_off:
            self.unit_cost = Configuration(1).avain_day_value
            self.monthly_cost = self.on_change_with_monthly_cost()

    @classmethod
    def validate_fields(cls, services, field_names):
        super().validate_fields(services, field_names)
        if field_names and not (
                field_names & {'avain_days_off', 'quantity'}):
            return
        for service in services:
            if (service.avain_days_off and service.quantity is not None
                    and service.quantity != int(service.quantity)):
                raise DaysOffError(gettext(
                        'hb_avain.msg_plan_days_off_whole',
                        quantity=service.quantity,
                        plan=service.plan.rec_name))
