# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .exceptions import PilotSettingsError

# Laki omaishoidon tuesta 937/2005, 4 §: at least two days off per calendar
# month, at least three when the care binds the carer round the clock or
# continuously every day.
LAW_DAYS_OFF = 2
LAW_DAYS_OFF_BINDING = 3

AVAIN_FIELDS = [
    'avain_customer_group', 'avain_days_off', 'avain_days_off_binding',
    'avain_max_days_off', 'avain_day_value', 'avain_categories',
    'avain_carry_over', 'avain_start_date', 'avain_end_date',
    ]


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    avain_customer_group = fields.Many2One(
        'hb.customer.group', "AVAIN Customer Group", ondelete='RESTRICT',
        help="The customer group that the AVAIN pilot serves: only its "
        "clients may convert days off into a personal budget.")
    avain_days_off = fields.Integer(
        "Statutory Days Off per Month", required=True,
        help="The days off per calendar month of a family carer "
        "(at least 2 by law 937/2005, 4 §).")
    avain_days_off_binding = fields.Integer(
        "Days Off per Month for Binding Care", required=True,
        help="The days off per calendar month of a carer whose care is "
        "round the clock or continuous every day "
        "(at least 3 by law 937/2005, 4 §).")
    avain_max_days_off = fields.Integer(
        "Maximum Days Off per Month", required=True,
        help="The most days off per month an agreement may grant "
        "(extra days may be granted beyond the statutory ones).")
    avain_day_value = fields.Numeric(
        "Value of a Day Off", digits=(16, 2), required=True,
        help="The euro value of one day off exchanged for "
        "a personal budget.")
    avain_categories = fields.Many2Many(
        'hb.avain.configuration-hb.service.category', 'configuration',
        'category', "Allowed Service Categories",
        help="The service categories a converted budget may buy "
        "(family home help and the home-help support services).")
    avain_carry_over = fields.Boolean(
        "Carry Over Unused Value",
        help="If checked, the value unused in a month carries over to the "
        "next months of the period.\n"
        "If not, only the value of the current month can be used.")
    avain_start_date = fields.Date(
        "Pilot Start Date",
        help="Conversions must fall within the pilot dates.")
    avain_end_date = fields.Date("Pilot End Date")
    avain_settings_log = fields.One2Many(
        'hb.avain.settings.log', 'configuration', "Pilot Settings History",
        readonly=True)

    @classmethod
    def default_avain_days_off(cls):
        return LAW_DAYS_OFF

    @classmethod
    def default_avain_days_off_binding(cls):
        return LAW_DAYS_OFF_BINDING

    @classmethod
    def default_avain_max_days_off(cls):
        return 5

    @classmethod
    def default_avain_day_value(cls):
        return Decimal('100.00')

    @classmethod
    def default_avain_carry_over(cls):
        return True

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        cls.check_avain(records, field_names)

    @classmethod
    def check_avain(cls, records, field_names=None):
        if field_names and not (field_names & set(AVAIN_FIELDS)):
            return
        for record in records:
            if record.avain_days_off < LAW_DAYS_OFF:
                raise PilotSettingsError(gettext(
                        'hb_avain.msg_settings_days_off_law',
                        days=record.avain_days_off, minimum=LAW_DAYS_OFF))
            if record.avain_days_off_binding < LAW_DAYS_OFF_BINDING:
                raise PilotSettingsError(gettext(
                        'hb_avain.msg_settings_days_off_binding_law',
                        days=record.avain_days_off_binding,
                        minimum=LAW_DAYS_OFF_BINDING))
            if record.avain_max_days_off < max(
                    record.avain_days_off, record.avain_days_off_binding):
                raise PilotSettingsError(gettext(
                        'hb_avain.msg_settings_max_days_off',
                        maximum=record.avain_max_days_off))
            if record.avain_day_value is None or (
                    record.avain_day_value <= 0):
                raise PilotSettingsError(gettext(
                        'hb_avain.msg_day_value_positive',
                        value=record.avain_day_value))
            if (record.avain_start_date and record.avain_end_date
                    and record.avain_end_date < record.avain_start_date):
                raise PilotSettingsError(gettext(
                        'hb_avain.msg_settings_pilot_dates',
                        start_date=record.avain_start_date,
                        end_date=record.avain_end_date))

    def avain_statutory_days_off(self, binding):
        "Return the days off per month of the settings for the kind of care"
        return self.avain_days_off_binding if binding else self.avain_days_off

    def avain_allows(self, category):
        """Tell whether the pilot allows category
        (an allowed category covers its subcategories)"""
        allowed = set(self.avain_categories)
        while category:
            if category in allowed:
                return True
            category = category.parent
        return False

    # History of the pilot settings

    def _avain_snapshot(self):
        values = {}
        for name in AVAIN_FIELDS:
            value = getattr(self, name, None)
            if name == 'avain_categories':
                value = ', '.join(sorted(c.rec_name for c in value or []))
            elif isinstance(value, ModelSQL):
                value = value.rec_name
            elif isinstance(value, bool):
                value = '1' if value else '0'
            elif value is None:
                value = ''
            else:
                value = str(value)
            values[name] = value
        return values

    @classmethod
    def on_write(cls, records, values):
        callbacks = super().on_write(records, values)
        if not set(values) & set(AVAIN_FIELDS):
            return callbacks
        before = {r.id: cls(r.id)._avain_snapshot() for r in records}

        def log():
            cls._avain_log({
                    r.id: (before[r.id], cls(r.id)._avain_snapshot())
                    for r in records})
        return callbacks + [log]

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode == 'create':
            empty = {n: '' for n in AVAIN_FIELDS}
            cls._avain_log({
                    r.id: (empty, cls(r.id)._avain_snapshot())
                    for r in records})

    @classmethod
    def _avain_log(cls, changes):
        pool = Pool()
        Log = pool.get('hb.avain.settings.log')
        Field = pool.get('ir.model.field')
        fields_ = {f.name: f for f in Field.search([
                    ('model', '=', cls.__name__),
                    ('name', 'in', AVAIN_FIELDS),
                    ])}
        user = Transaction().user
        logs = []
        for record_id, (old, new) in changes.items():
            for name in AVAIN_FIELDS:
                if old[name] != new[name]:
                    logs.append(Log(
                            configuration=record_id, field=fields_[name],
                            old_value=old[name], new_value=new[name],
                            user=user or None))
        with without_check_access():
            Log.save(logs)


class ConfigurationCategory(ModelSQL):
    __name__ = 'hb.avain.configuration-hb.service.category'
    __string__ = "AVAIN Settings - Service Category"

    configuration = fields.Many2One(
        'hb.configuration', "Settings", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        ondelete='CASCADE')


class SettingsLog(ModelSQL, ModelView):
    __name__ = 'hb.avain.settings.log'
    __string__ = "AVAIN Pilot Settings Change"

    configuration = fields.Many2One(
        'hb.configuration', "Settings", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.Function(fields.Timestamp("Date"), 'get_date')
    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='RESTRICT',
        help="Who changed the setting.")
    field = fields.Many2One(
        'ir.model.field', "Setting", required=True, readonly=True,
        ondelete='RESTRICT')
    old_value = fields.Char("Old Value", size=2000, readonly=True)
    new_value = fields.Char("New Value", size=2000, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('configuration')
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    def get_date(self, name):
        return self.create_date

    @classmethod
    def check_modification(cls, mode, logs, values=None, external=False):
        super().check_modification(
            mode, logs, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise PilotSettingsError(gettext(
                    'hb_avain.msg_settings_log_readonly'))
