# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.pool import PoolMeta


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        # Catalogue services are sold at the providers' sale points
        if mode == 'create' and values.get('hb_provider'):
            values.setdefault('salable', True)
            if values.get('default_uom'):
                values.setdefault('sale_uom', values['default_uom'])
        return values
