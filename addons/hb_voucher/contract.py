# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class Contract(metaclass=PoolMeta):
    __name__ = 'hb.provider.contract'

    hb_sale_points = fields.One2Many(
        'sale.point', 'hb_contract', "Sale Points", readonly=True,
        help="The sale point recording the charges of the contract.")

    @classmethod
    def copy(cls, contracts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_sale_points')
        return super().copy(contracts, default=default)

    @classmethod
    def activate(cls, contracts):
        super().activate(contracts)
        cls.create_sale_points(contracts)

    @classmethod
    def create_sale_points(cls, contracts):
        """Give each contract without one its sale point and make sure its
        company has the personal budget payment method (when the company
        and its accounting are set up); return the new sale points.

        Done when a contract is activated, never in the middle of a
        charge; contracts activated before the accounting was set up get
        theirs from the scheduled task create_missing_sale_points."""
        pool = Pool()
        POS = pool.get('sale.point')
        Configuration = pool.get('hb.configuration')
        points = []
        for contract in contracts:
            if not contract.hb_sale_points:
                point = contract.get_sale_point()
                if point:
                    points.append(point)
        POS.save(points)
        config = Configuration(1)
        for company in {p.company.id for p in points}:
            with Transaction().set_context(company=company):
                config.get_hb_payment_method()
        return points

    @classmethod
    def create_missing_sale_points(cls):
        """Give the active contracts without a sale point theirs (a
        contract activated before the accounting was set up); return the
        new sale points"""
        contracts = cls.search([
                ('state', '=', 'active'),
                ('hb_sale_points', '=', None),
                ])
        return cls.create_sale_points(contracts)

    def get_sale_point(self):
        "Return a new sale point for the contract or None"
        pool = Pool()
        POS = pool.get('sale.point')
        Sequence = pool.get('ir.sequence.strict')
        ModelData = pool.get('ir.model.data')
        Configuration = pool.get('hb.configuration')
        Company = pool.get('company.company')
        config = Configuration(1)
        company_id = Transaction().context.get('company')
        if not company_id:
            companies = Company.search([], limit=1, order=[('id', 'ASC')])
            if not companies:
                return None
            company_id = companies[0].id
        journal = config.get_multivalue('hb_sale_journal', company=company_id)
        if not journal:
            return None
        name = '%s (%s)' % (self.provider.rec_name, self.number or self.id)
        sequence = Sequence(
            name=name, company=company_id,
            sequence_type=ModelData.get_id(
                'sale_point', 'sequence_type_sale'))
        sequence.save()
        return POS(
            name=name, company=company_id, hb_contract=self,
            tax_included=True, sequence=sequence,
            storage_location=ModelData.get_id('stock', 'location_storage'),
            customer_location=ModelData.get_id('stock', 'location_customer'),
            journal=journal)

    def get_hb_sale_point(self):
        """Return the sale point of the contract (made when the contract
        was activated) or None (one query: on every charge request)"""
        pool = Pool()
        POS = pool.get('sale.point')
        points = POS.search([
                ('hb_contract', '=', self.id),
                ], limit=1, order=[('id', 'ASC')])
        return points[0] if points else None
