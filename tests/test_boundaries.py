# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The modules keep to Tryton's contracts (issue 16's "done when").

1. No SQL write (INSERT, UPDATE, DELETE) into a table that is not HB's
   own: every python-sql ``insert``/``update``/``delete`` of the modules'
   code is on the table of an ``hb.*`` model (or an ``hb_*`` table), and
   every call of the helpers that insert rows (``tools.sql_insert``)
   names an ``hb.*`` model. Other modules' records are written through
   their models (``save``, ``create``, ``write``, ``delete``, buttons).
2. No private trytond attribute: none of the names of trytond's internals
   that the modules once used (issue 16 lists them), and every
   ``obj._name`` attribute either is HB's own (defined in the modules) or
   one of Tryton's documented model attributes and extension hooks
   (ALLOWED, each with its reason).

The modules are read as source (``ast``): no database is needed."""
import ast
import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS = os.path.join(ROOT, 'addons')

# trytond internals the modules used before issue 16 (or could reach for)
PRIVATE = re.compile(
    r'\.(?:_connpool|_clean_defaults|_validate|_values|_defaults'
    r'|_record_cache|_local_cache|_transaction_cache|_locked_tables'
    r'|_locked_records|_changed_values|_datamanagers|_cache_size'
    r'|_fields_cache)\b'
    r'|\bcreate_records\b|\btransaction\.counter\b|\.counter\b'
    r'|__wrapped__'
    r'|[\'"]_(?:connpool|values|defaults|record_cache|local_cache)[\'"]')
# Tryton's attributes and methods starting with "_" that its own modules
# use as their API (documented model attributes set in __setup__, and
# the hooks that Tryton's modules extend through super())
ALLOWED = {
    # documented class attributes of Model, ModelSQL, ModelView, Workflow
    '_fields', '_table', '_order', '_order_name', '_rec_name', '_history',
    '_buttons', '_transitions', '_sql_constraints', '_sql_indexes',
    # ir.rule's context for rules (extended as trytond/res/ir.py and
    # company/ir.py do)
    '_get_context', '_get_cache_key',
    # the models an origin may be (extended as analytic_invoice and
    # account_payment do)
    '_get_origin',
    }
# the functions writing rows in SQL that check the model is HB's own
GUARDED_WRITERS = {'sql_insert'}
# the calls that write rows of their first argument's model
WRITER_CALLS = GUARDED_WRITERS | {'insert_row'}


def sources():
    "Yield (relative path, text) of the modules' Python files (no tests)"
    for path in sorted(glob.glob(os.path.join(ADDONS, '*', '*.py'))):
        with open(path, encoding='utf-8') as source:
            yield os.path.relpath(path, ROOT), source.read()


def hb_names():
    "Return the names starting with _ that the modules define"
    names = set()
    for _, text in sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.add(target.id)
                    elif isinstance(target, ast.Attribute):
                        names.add(target.attr)
    return {n for n in names if n.startswith('_')}


def _string(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value


class Writes(ast.NodeVisitor):
    """Collect the SQL writes of a module and the model (or table) each
    writes: [(line, model or table or None, what)]"""

    def __init__(self):
        self.found = []
        self.classes = []

    def visit_ClassDef(self, node):
        name = None
        for item in node.body:
            if (isinstance(item, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == '__name__'
                        for t in item.targets)):
                name = _string(item.value)
        self.classes.append(name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node):
        if node.name in WRITER_CALLS:
            # the helpers: checked by test_sql_writers_check_the_model,
            # their callers here
            return
        models = {}  # variable: model name
        tables = {}  # variable: model name, or table name

        def model_of(expr):
            if isinstance(expr, ast.Name):
                if expr.id == 'cls' and self.classes:
                    return self.classes[-1]
                return models.get(expr.id)

        def table_of(expr):
            if isinstance(expr, ast.Name):
                return tables.get(expr.id, False)
            if isinstance(expr, ast.Call):
                func = expr.func
                if (isinstance(func, ast.Attribute)
                        and func.attr == '__table__'):
                    return model_of(func.value)
                if isinstance(func, ast.Name) and func.id == 'Table':
                    return _string(expr.args[0]) if expr.args else None
            return False

        for child in ast.walk(node):
            if isinstance(child, ast.Assign) and len(child.targets) == 1 \
                    and isinstance(child.targets[0], ast.Name):
                name, value = child.targets[0].id, child.value
                if (isinstance(value, ast.Call)
                        and isinstance(value.func, ast.Attribute)
                        and value.func.attr == 'get' and value.args
                        and _string(value.args[0])):
                    models[name] = _string(value.args[0])
                    continue
                table = table_of(value)
                if table is not False:
                    tables[name] = table
        for child in ast.walk(node):
            if not isinstance(child, ast.Call):
                continue
            func = child.func
            if (isinstance(func, ast.Attribute)
                    and func.attr in {'insert', 'update', 'delete'}):
                table = table_of(func.value)
                if table is not False:
                    self.found.append((child.lineno, table, func.attr))
            called = (func.id if isinstance(func, ast.Name)
                else func.attr if isinstance(func, ast.Attribute) else None)
            if called in WRITER_CALLS and child.args:
                self.found.append(
                    (child.lineno, model_of(child.args[0]), called))
            for arg in child.args:
                text = _string(arg)
                if text and re.search(
                        r'\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b',
                        text, re.I):
                    table = re.search(
                        r'(?:INTO|UPDATE|FROM)\s+"?(\w+)', text, re.I)
                    self.found.append((child.lineno,
                            table.group(1) if table else None, 'SQL text'))
        self.generic_visit(node)


def own(name):
    "Whether name is an HB model or table"
    return bool(name) and (name.startswith('hb.') or name.startswith('hb_'))


def unsized_slice(node):
    "Whether node calls grouped_slice without a size"
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = (func.id if isinstance(func, ast.Name)
        else func.attr if isinstance(func, ast.Attribute) else None)
    return name == 'grouped_slice' and len(node.args) + len(
        node.keywords) < 2


class BoundariesTestCase(unittest.TestCase):
    "The modules write only HB's tables in SQL and use no trytond internals"

    def test_sql_writes_only_hb_tables(self):
        "Every SQL write of the modules is on one of HB's own tables"
        writes, foreign = 0, []
        for path, text in sources():
            visitor = Writes()
            visitor.visit(ast.parse(text))
            for line, table, what in visitor.found:
                writes += 1
                if not own(table):
                    foreign.append('%s:%s %s on %s' % (
                            path, line, what, table or 'an unknown table'))
        self.assertEqual(foreign, [])
        # the check sees the writes there are (the outbox, the charge,
        # the access log...)
        self.assertGreater(writes, 3)

    def test_sql_writers_check_the_model(self):
        "The SQL insert helper refuses any model that is not HB's"
        with open(os.path.join(ADDONS, 'hb_voucher', 'tools.py')) as source:
            tree = ast.parse(source.read())
        functions = {n.name: n for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef)}
        for name in GUARDED_WRITERS:
            text = ast.unparse(functions[name])
            self.assertIn("startswith('hb.')", text, name)
        for name in WRITER_CALLS - GUARDED_WRITERS:
            # (through a guarded one)
            self.assertIn('sql_insert(', ast.unparse(functions[name]), name)
        # no unguarded helper writing rows is left
        self.assertFalse({n for n in functions if n not in GUARDED_WRITERS
                and '.insert(' in ast.unparse(functions[n])})

    def test_no_private_trytond_names(self):
        "No known trytond internal is used by the modules"
        found = []
        for path, text in sources():
            for number, line in enumerate(text.splitlines(), 1):
                code = line.split('#', 1)[0]
                if PRIVATE.search(code):
                    found.append('%s:%s %s' % (path, number, line.strip()))
        self.assertEqual(found, [])

    def test_underscore_attributes_are_hb_or_documented(self):
        """Every attribute starting with _ the modules use is their own or
        documented Tryton API"""
        own_names = hb_names()
        found = []
        for path, text in sources():
            for node in ast.walk(ast.parse(text)):
                if (isinstance(node, ast.Attribute)
                        and node.attr.startswith('_')
                        and not node.attr.startswith('__')
                        and node.attr not in own_names
                        and node.attr not in ALLOWED):
                    found.append('%s:%s .%s' % (
                            path, node.lineno, node.attr))
        self.assertEqual(found, [])

    def test_grouped_slice_has_a_size(self):
        """Every grouped_slice of the modules gives its size: without one
        trytond 8 slices one record at a time (a deprecation warning),
        so a read meant for 1,000 ids ran 1,000 queries (billing, the
        charges' currency, the access log; issue 16)"""
        found = []
        for path, text in sources():
            found.extend('%s:%s' % (path, node.lineno)
                for node in ast.walk(ast.parse(text))
                if unsized_slice(node))
        self.assertEqual(found, [])
        self.assertTrue(unsized_slice(ast.parse(
                    'grouped_slice(ids)').body[0].value))
        self.assertFalse(unsized_slice(ast.parse(
                    'grouped_slice(ids, 1000)').body[0].value))

    def test_private_names_are_caught(self):
        "The checks above find what they look for"
        self.assertTrue(PRIVATE.search("getattr(db, '_connpool', None)"))
        self.assertTrue(PRIVATE.search('database._connpool.timeout'))
        self.assertTrue(PRIVATE.search('record._values[name]'))
        visitor = Writes()
        visitor.visit(ast.parse(
                'class A:\n'
                '    __name__ = "company.company"\n'
                '    def f(cls):\n'
                '        pool = Pool()\n'
                '        Sale = pool.get("sale.point.sale")\n'
                '        sale = Sale.__table__()\n'
                '        cursor.execute(*sale.insert([sale.id], [[1]]))\n'
                '        table = cls.__table__()\n'
                '        cursor.execute(*table.update([table.id], [1]))\n'
                '        cursor.execute("DELETE FROM account_move")\n'
                '        sql_insert(Sale, [{}])\n'))
        self.assertEqual(sorted(t for _, t, _ in visitor.found), [
                'account_move', 'company.company', 'sale.point.sale',
                'sale.point.sale'])
