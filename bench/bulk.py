# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Bulk data for the benchmarks, generated in SQL.

The ORM makes one real record of each kind (a provider with its contract,
sale point and service; clients with budgets; charges made through the
API, done and posted). Everything else is cloned from those rows by
INSERT ... SELECT over generate_series, in chunks, with every column of
the template row copied except the ones that must differ (ids, links,
numbers, dates). So the rows are what Tryton itself writes, whatever
columns the installed modules add, and a million charges take a minute.

Clones of a charge are the whole charge: its sale (state posted, without
an account move), sale line and payment, the charge and its line, and the
capture entry of the budget ledger; the budget lines are then topped up
by what the clones spent (allocated and spent both grow, so the available
balance, what the client sees, is unchanged and spent stays the sum of the
captures)."""
import datetime as dt

CHUNK = 100_000


def ident(name):
    return '"%s"' % name.replace('"', '""')


class Bulk:
    def __init__(self, connection, progress=None):
        self.db = connection
        self.progress = progress or (lambda *a: None)
        self._columns = {}
        self.tag = 0
        # The clones point at rows that exist (they are built so): skip
        # the foreign key triggers, row by row they cost most of the load
        self.execute('SET session_replication_role = replica')
        self.db.commit()

    def execute(self, query, params=None):
        return self.db.execute(query, params)

    def columns(self, table):
        if table not in self._columns:
            self._columns[table] = [r[0] for r in self.execute(
                    'SELECT column_name FROM information_schema.columns '
                    'WHERE table_schema = current_schema() '
                    'AND table_name = %s AND column_name <> %s '
                    'ORDER BY ordinal_position', (table, 'id')).fetchall()]
        return self._columns[table]

    def has_table(self, table):
        return bool(self.columns(table))

    def reserve_ids(self, table, count):
        """Reserve count ids of table's sequence; return base: the ids are
        base + 1 ... base + count"""
        sequence, = self.execute(
            'SELECT pg_get_serial_sequence(%s, %s)',
            (ident(table), 'id')).fetchone()
        self.execute('LOCK TABLE %s IN EXCLUSIVE MODE' % ident(table))
        last, = self.execute(
            'SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM %s), '
            '(SELECT last_value FROM %s))' % (ident(table), sequence)
            ).fetchone()
        self.execute('SELECT setval(%s, %s)', (sequence, last + count))
        self.db.commit()
        return last

    def clone(self, table, template, count, overrides, base=None,
            joins='', where=None, label=None, params=None):
        """Insert count copies of the row of table with id template (or of
        the rows matching where, see clone_children) with id base + g for
        g in 1..count; overrides maps columns to SQL expressions of g (and
        of the joined tables). Return base."""
        if base is None:
            base = self.reserve_ids(table, count)
        columns = self.columns(table)
        for column in overrides:
            assert column in columns, (table, column)
        values = [overrides.get(c, 't.%s' % ident(c)) for c in columns]
        query = ('INSERT INTO %s (id, %s) SELECT %%(base)s + g, %s '
            'FROM %s AS t CROSS JOIN generate_series('
            '%%(lo)s::integer, %%(hi)s::integer) AS g %s WHERE %s' % (
                ident(table), ', '.join(ident(c) for c in columns),
                ', '.join(values), ident(table), joins,
                where or 't.id = %(template)s'))
        done = 0
        while done < count:
            hi = min(count, done + CHUNK)
            self.execute(query, dict(params or {}, base=base, lo=done + 1,
                    hi=hi, template=template))
            self.db.commit()
            done = hi
            self.progress(label or table, done, count)
        return base

    def clone_children(self, table, column, template_parent, parent_base,
            count, overrides=None, label=None):
        """Copy the rows of table whose column is template_parent for each
        of count new parents parent_base + g"""
        if not self.has_table(table):
            return 0
        n, = self.execute('SELECT COUNT(*) FROM %s WHERE %s = %%s' % (
                ident(table), ident(column)), (template_parent,)).fetchone()
        if not n:
            return 0
        columns = self.columns(table)
        overrides = dict(overrides or {})
        overrides[column] = '%(parent_base)s + g'
        values = [overrides.get(c, 't.%s' % ident(c)) for c in columns]
        query = ('INSERT INTO %s (%s) SELECT %s FROM %s AS t '
            'CROSS JOIN generate_series('
            '%%(lo)s::integer, %%(hi)s::integer) AS g '
            'WHERE t.%s = %%(parent)s' % (
                ident(table), ', '.join(ident(c) for c in columns),
                ', '.join(values), ident(table), ident(column)))
        done = 0
        while done < count:
            hi = min(count, done + CHUNK)
            self.execute(query, {'parent_base': parent_base, 'lo': done + 1,
                    'hi': hi, 'parent': template_parent})
            self.db.commit()
            done = hi
            self.progress(label or table, done, count)
        return n * count

    def drop_indexes(self, tables):
        """Drop the indexes of tables that no constraint owns; return their
        definitions (a big load then builds each once: much faster)"""
        definitions = []
        for table in tables:
            for name, definition in self.execute(
                    'SELECT indexname, indexdef FROM pg_indexes '
                    'WHERE schemaname = current_schema() AND tablename = %s '
                    'AND indexname NOT IN (SELECT conname FROM pg_constraint '
                    'WHERE conrelid = %s::regclass)',
                    (table, ident(table))).fetchall():
                self.execute('DROP INDEX %s' % ident(name))
                definitions.append(definition)
        self.db.commit()
        return definitions

    def create_indexes(self, definitions, label='indexes'):
        for i, definition in enumerate(definitions):
            self.execute(definition)
            self.db.commit()
            self.progress(label, i + 1, len(definitions))

    def analyze(self, *tables):
        """VACUUM ANALYZE tables after a load: the statistics, and the
        visibility map and hint bits that the tables of a running system
        have (else the first reads after a load write them, and autovacuum
        works on the new rows while the benchmarks measure)"""
        self.db.commit()
        self.db.autocommit = True
        try:
            for table in tables:
                self.execute('VACUUM (ANALYZE) %s' % ident(table))
        finally:
            self.db.autocommit = False

    # The HB data -----------------------------------------------------------

    def set_clients(self, clients):
        """clients: [(client, budget, budget line, mobile)] of the data set;
        charges are spread over them"""
        self.execute('DROP TABLE IF EXISTS bench_client')
        self.execute('CREATE TEMP TABLE bench_client (i integer PRIMARY KEY, '
            'client integer, budget integer, line integer, mobile varchar)')
        with self.db.cursor() as cursor:
            cursor.executemany('INSERT INTO bench_client VALUES '
                '(%s, %s, %s, %s, %s)',
                [(i, *c) for i, c in enumerate(clients)])
        self.db.commit()
        self.n_clients = len(clients)

    def set_main_provider(self, party, contract, sale_point, product):
        self.execute('DROP TABLE IF EXISTS bench_provider')
        self.execute('CREATE TEMP TABLE bench_provider (i integer PRIMARY '
            'KEY, party integer, contract integer, sale_point integer, '
            'product integer)')
        self.execute('INSERT INTO bench_provider VALUES (0, %s, %s, %s, %s)',
            (party, contract, sale_point, product))
        self.db.commit()
        self.main_provider = party
        self.n_providers = 1

    def add_providers(self, count, services, main):
        """Clone the main provider count times (party with its addresses,
        contract with its coverage, sale point) and its service template
        services times over all providers (the catalogue). main is a dict
        of the ids party, contract, sale_point, template."""
        self.tag += 1
        tag = self.tag
        party = self.clone('party_party', main['party'], count, {
                'name': "'Bench Provider ' || g",
                'code': "'BENCH-%d-' || g" % tag,
                }, label='providers')
        for child in ['party_address', 'party_party_lang',
                'party_party_account', 'party_contact_mechanism']:
            self.clone_children(child, 'party', main['party'], party, count,
                label='provider ' + child.split('_', 1)[1])
        contract_overrides = {'provider': '%d + g' % party}
        if 'number' in self.columns('hb_provider_contract'):
            contract_overrides['number'] = "'BENCH-%d-' || g" % tag
        contract = self.clone('hb_provider_contract', main['contract'], count,
            contract_overrides, label='contracts')
        for child in ['hb_provider_contract-hb_municipality',
                'hb_provider_contract-hb_service_category',
                'hb_provider_contract-hb_customer_group',
                'hb_provider_contract_price_cap']:
            self.clone_children(child, 'contract', main['contract'], contract,
                count, label='contract ' + child.rsplit('-', 1)[-1])
        point_overrides = {'name': "'Bench POS ' || g"}
        if 'hb_contract' in self.columns('sale_point'):
            point_overrides['hb_contract'] = '%d + g' % contract
        point = self.clone('sale_point', main['sale_point'], count,
            point_overrides, label='sale points')
        # services: template g belongs to provider 1 + (g - 1) % count
        template = self.clone('product_template', main['template'], services,
            {
                'name': "'Bench service ' || g",
                'hb_provider': '%d + 1 + mod(g - 1, %d)' % (party, count),
                'hb_contract': '%d + 1 + mod(g - 1, %d)' % (contract, count),
                }, label='services')
        product_overrides = {c: 'NULL' for c in ['code', 'suffix_code']
            if c in self.columns('product_product')}
        self.clone_children('product_product', 'template', main['template'],
            template, services, product_overrides, label='service products')
        for child in ['product_list_price', 'product_gross_price',
                'product_template-hb_municipality',
                'product_template-hb_customer_group',
                'product_template-product_category']:
            self.clone_children(child, 'template', main['template'], template,
                services, label='service ' + child.rsplit('-', 1)[-1])
        self.execute('INSERT INTO bench_provider '
            'SELECT %(n)s + g, %(party)s + g, %(contract)s + g, '
            '%(point)s + g, (SELECT MIN(p.id) FROM product_product AS p '
            'WHERE p.template = %(template)s + g) '
            'FROM generate_series(1, %(count)s) AS g', {
                'n': self.n_providers - 1, 'party': party,
                'contract': contract, 'point': point, 'template': template,
                'count': count})
        self.db.commit()
        self.n_providers += count
        # (with the relation tables: without their statistics the
        # catalogue's coverage rule was planned as if they were empty,
        # 450 ms a query at 500 providers instead of 4 ms)
        self.analyze('party_party', 'party_address', 'hb_provider_contract',
            'sale_point', 'product_template', 'product_product',
            'hb_provider_contract-hb_municipality',
            'hb_provider_contract-hb_service_category',
            'hb_provider_contract-hb_customer_group',
            'hb_provider_contract_price_cap',
            'product_list_price', 'product_template-hb_municipality',
            'product_template-hb_customer_group',
            'product_template-product_category')
        return {'party': party, 'contract': contract, 'template': template}

    def add_charges(self, count, template_charge, date_sql, providers=None,
            clients=None, label='charges'):
        """Add count captured charges cloned from template_charge (a
        captured and posted charge of one line), spread over the clients
        [first, last) of bench_client and the providers [first, last) of
        bench_provider (all by default), dated by date_sql (an SQL date
        expression of g). Return the (first, last) charge ids."""
        self.tag += 1
        tag = self.tag
        first, last = providers or (0, self.n_providers)
        first_client, last_client = clients or (0, self.n_clients)
        sale, = self.execute('SELECT sale FROM hb_charge WHERE id = %s',
            (template_charge,)).fetchone()
        sale_line, = self.execute('SELECT MIN(id) FROM sale_point_sale_line '
            'WHERE sale = %s', (sale,)).fetchone()
        payment, = self.execute('SELECT MIN(id) FROM sale_point_payment '
            'WHERE sale = %s', (sale,)).fetchone()
        charge_line, = self.execute('SELECT MIN(id) FROM hb_charge_line '
            'WHERE charge = %s', (template_charge,)).fetchone()
        move, = self.execute('SELECT MIN(id) FROM hb_budget_move '
            "WHERE origin = %s AND kind = 'capture'",
            ('hb.charge,%d' % template_charge,)).fetchone()
        joins = ('JOIN bench_client AS c ON c.i = %d + mod(g, %d) '
            'JOIN bench_provider AS p ON p.i = %d + mod(g, %d)' % (
                first_client, last_client - first_client,
                first, last - first))
        tables = ['sale_point_sale', 'sale_point_sale_line',
            'sale_point_payment', 'hb_charge', 'hb_charge_line',
            'hb_budget_move']
        indexes = self.drop_indexes(tables) if count >= 200_000 else []
        sale_base = self.reserve_ids('sale_point_sale', count)
        charge_base = self.reserve_ids('hb_charge', count)
        sale_overrides = {
            'number': "'H%d-' || g" % tag,
            'date': date_sql,
            'point': 'p.sale_point',
            'hb_client': 'c.client',
            'hb_budget': 'c.budget',
            'state': "'posted'",
            'create_date': 'now()',
            'write_date': 'NULL',
            }
        columns = self.columns('sale_point_sale')
        if 'move' in columns:
            sale_overrides['move'] = 'NULL'
        self.clone('sale_point_sale', sale, count, sale_overrides,
            base=sale_base, joins=joins, label=label + ': sales')
        self.clone('sale_point_sale_line', sale_line, count, {
                'sale': '%d + g' % sale_base,
                'product': 'p.product',
                'create_date': 'now()',
                }, joins=joins, label=label + ': sale lines')
        self.clone('sale_point_payment', payment, count, {
                'sale': '%d + g' % sale_base,
                'create_date': 'now()',
                }, label=label + ': payments')
        self.clone('hb_charge', template_charge, count, {
                'number': "'H%d-' || g" % tag,
                'provider': 'p.party',
                'contract': 'p.contract',
                'sale_point': 'p.sale_point',
                'client': 'c.client',
                'budget': 'c.budget',
                'representative': 'NULL',
                'mobile': 'c.mobile',
                'date': date_sql,
                'sale': '%d + g' % sale_base,
                'idempotency_key': 'NULL',
                'code_hash': 'NULL',
                'expires_at': 'NULL',
                'captured_at': "(%s)::timestamp + interval '10 hours'"
                % date_sql,
                'invoice_line': 'NULL',
                'create_date': 'now()',
                'write_date': 'NULL',
                }, base=charge_base, joins=joins, label=label + ': charges')
        self.clone('hb_charge_line', charge_line, count, {
                'charge': '%d + g' % charge_base,
                'product': 'p.product',
                'budget_line': 'c.line',
                'create_date': 'now()',
                }, joins=joins, label=label + ': charge lines')
        if move:
            self.clone('hb_budget_move', move, count, {
                    'line': 'c.line',
                    'budget': 'c.budget',
                    'origin': "'hb.charge,' || (%d + g)" % charge_base,
                    'date': date_sql,
                    'create_date': 'now()',
                    }, joins=joins, label=label + ': ledger')
        # what the clones spent, on their budget lines
        self.execute('UPDATE hb_budget_line AS l '
            'SET amount = l.amount + s.total, spent = l.spent + s.total '
            'FROM (SELECT cl.budget_line, SUM(cl.amount) AS total '
            'FROM hb_charge_line AS cl WHERE cl.charge > %s '
            'AND cl.charge <= %s GROUP BY cl.budget_line) AS s '
            'WHERE l.id = s.budget_line', (charge_base, charge_base + count))
        self.db.commit()
        self.create_indexes(indexes, label=label + ': indexes')
        self.analyze(*tables, 'hb_budget_line')
        return charge_base + 1, charge_base + count


def days_ago_sql(today, least, spread, per=1):
    "SQL date expression of g: today - least - ((g / per) mod spread) days"
    return "(DATE '%s' - %d - mod(g / %d, %d))" % (
        today.isoformat(), least, max(per, 1), max(spread, 1))


def date_sql(date):
    assert isinstance(date, dt.date)
    return "DATE '%s'" % date.isoformat()
