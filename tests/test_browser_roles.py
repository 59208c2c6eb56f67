# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Every screen of every role, in the web client (sao) in headless Chromium.

One database with the Kainuu demo data (hb_avain's demo.py, Finnish as the
main language, as `make demo` makes it) is created once and kept in the test
database cache. For the first demo user of each role in demo.USERS, and for
admin, the test logs in to sao through its login form and opens every menu
entry the user can see, as sao does when the entry is activated (the
entry's "tree_open" action through Sao.Action.exec_action). Admin, who sees
every entry, opens those that no other role sees (Tryton's own screens and
the administration): an entry a role sees is opened as that role, with its
rights and record rules, which is the harder test.

- a list must show rows in the page whenever it counts records, and its
  first record must open in the form;
- a form, graph or calendar must render;
- a wizard must open and be cancelled with its own cancel button;
- a report must produce a file;
- and nothing may go wrong on the way: no JavaScript exception (sao's
  jQuery promises, window errors, the browser console's errors), no error
  or warning dialog of sao (a server error, a UserError).

Prints, per role, the entries opened, lists with rows, forms opened,
wizards, reports and graphs, and fails listing every failure. Screenshots
of each role's main screen go to HB_ARTIFACTS, or to docs/screens/ with
HB_UPDATE_SCREENS=1."""
import os
import re
import time
import unittest

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME,
    activate_module,
    backup_db_cache,
    drop_db,
    restore_db_cache,
)
from trytond.transaction import Transaction

from tests.browser import (
    ARTIFACTS,
    ROOT,
    TrytondServer,
    chromium_driver,
    console_errors,
)

PASSWORD = 'Roles-Test-pw-1'
# Browsers walking at once, each with its own trytond (a 2-core machine)
WORKERS = int(os.environ.get('HB_SAO_WORKERS', 2))
CACHE_NAME = 'hb_avain-demo-fi'
WALK_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'sao_walk.js')
SCREENS = os.path.join(ROOT, 'docs', 'screens')
# sao's page asks for these optional files of a deployment
OPTIONAL_FILES = re.compile(
    r'/custom\.(css|js) - Failed to load resource')
# The list each role's screenshot shows beside the menu
MAIN_SCREEN = {
    'own_worker': 'hb_budget.menu_plan_form',
    'supervisor': 'hb_budget.menu_decision_form',
    'service_manager': 'hb_budget.menu_budget_form',
    'finance': 'hb_voucher.menu_charge_form',
    'pilot_admin': 'hb_marketplace.menu_application',
    'admin': 'hb_marketplace.menu_bank_change',
    }


def roles():
    "Return (role, login) of the first demo user of each role, and admin"
    from trytond.modules.hb_avain.demo import USERS
    result = {}
    for login, _name, role, _groups in USERS:
        result.setdefault(role, login)
    result['admin'] = 'admin'
    return list(result.items())


def create_demo_database():
    """Create DB_NAME with the demo data as the demo command does (Finnish
    main language, English too), from the test database cache when it
    holds it; return the seconds it took"""
    start = time.monotonic()
    drop_db()
    if restore_db_cache(CACHE_NAME):
        return time.monotonic() - start
    activate_module(['hb_avain'])
    with Transaction().start(DB_NAME, 0) as transaction:
        pool = Pool()
        Lang = pool.get('ir.lang')
        Configuration = pool.get('ir.configuration')
        User = pool.get('res.user')
        finnish, = Lang.search([('code', '=', 'fi')])
        Lang.load_translations([finnish])
        configuration = Configuration(1)
        configuration.language = 'fi'
        configuration.save()
        admin, = User.search([('login', '=', 'admin')])
        admin.password = PASSWORD
        admin.language = finnish
        admin.save()
        transaction.commit()
    from proteus import config as pconfig

    from trytond.modules.hb_avain import demo
    previous = os.environ.get('HB_DEMO_PASSWORD')
    os.environ['HB_DEMO_PASSWORD'] = PASSWORD
    try:
        demo.load(pconfig.set_trytond(DB_NAME))
    finally:
        if previous is None:
            del os.environ['HB_DEMO_PASSWORD']
        else:
            os.environ['HB_DEMO_PASSWORD'] = previous
    backup_db_cache(CACHE_NAME)
    return time.monotonic() - start


class Walk:
    "One role's walk through its menu in sao"

    def __init__(self, driver, role, login, skip=()):
        self.driver = driver
        self.role = role
        self.login = login
        # menu entries opened by another role's walk
        self.skip = set(skip)
        self.failures = []
        self.counts = dict.fromkeys([
                'entries', 'lists', 'lists with rows', 'forms', 'wizards',
                'reports', 'graphs', 'calendars', 'boards', 'urls',
                'entries of other roles'], 0)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script, *args):
        "Run script with `done` to call with its result"
        return self.driver.execute_async_script(
            'var done = arguments[arguments.length - 1];' + script, *args)

    def idle(self, quiet_ms=60):
        """Wait until sao has been idle for quiet_ms; return False after
        30 s of work"""
        return self.js_async('hbWalk.idle(arguments[0]).then(done);',
            quiet_ms)

    def state(self):
        return self.js('return hbWalk.state();')

    def fail(self, entry, message):
        self.failures.append('%s: %s' % (entry, message))

    def log_in(self, url, password):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait

        driver = self.driver
        wait = WebDriverWait(driver, 60)
        driver.get('%s/#%s' % (url, DB_NAME))
        login = wait.until(EC.visibility_of_element_located((By.ID, 'login')))
        with open(WALK_JS, encoding='utf-8') as fp:
            self.js(fp.read())
        self.idle()  # the login dialog asks the server for its databases
        login.send_keys(self.login)
        login.send_keys(Keys.ENTER)
        password_input = wait.until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, '.modal input[type="password"]')))
        password_input.send_keys(password)
        password_input.send_keys(Keys.ENTER)
        wait.until(lambda d: d.execute_script(
                'return Boolean(Sao.main_menu_screen && '
                'Sao.main_menu_screen.group && '
                'jQuery("#menu table.tree tbody tr").length);'))
        self.idle()
        state = self.state()
        # Straight to the menu: no first-login wizard, nothing wrong
        if state['wizards'] or state['tabs']:
            self.fail('login', 'opens %s' % ', '.join(
                    [w['name'] for w in state['wizards']]
                    + [t['name'] for t in state['tabs']]))
        self.check_errors('login', state)
        self.js('hbWalk.reset();')

    def check_errors(self, entry, state):
        for error in state['errors']:
            self.fail(entry, error)
        for message in console_errors(self.driver):
            if OPTIONAL_FILES.search(message):
                continue
            self.fail(entry, 'console: %s' % message)
        if state['modals']:
            self.fail(entry, '%d dialog(s) left open' % state['modals'])

    def entries(self):
        return self.js_async(
            'hbWalk.menu_entries().then(done, '
            'function(e) { done({error: String(e)}); });')

    def walk(self):
        entries = self.entries()
        if isinstance(entries, dict):
            self.fail('menu', entries['error'])
            return
        for entry in entries:
            if entry['id'] in self.skip:
                self.counts['entries of other roles'] += 1
                continue
            self.open(entry)

    def open(self, entry):
        name = entry['name']
        self.counts['entries'] += 1
        self.js('hbWalk.reset();')
        opened = self.js_async(
            'hbWalk.open(arguments[0]).then(done, '
            'function(e) { done({type: "error", error: String(e)}); });',
            entry['id'])
        if not self.idle():
            self.fail(name, 'sao is still busy after 30 s')
        state = self.state()
        kind = opened.get('type')
        if kind == 'ir.action.act_window':
            if not state['tabs']:
                self.fail(name, 'no tab opened')
            for index, tab in enumerate(state['tabs']):
                self.check_tab(name, tab, index)
        elif kind == 'ir.action.wizard':
            self.check_wizard(name, state)
        elif kind == 'ir.action.report':
            self.counts['reports'] += 1
            if not [d for d in state['downloads'] if d['size']]:
                self.fail(name, 'the report produced no file')
        elif kind == 'ir.action.url':
            self.counts['urls'] += 1
            if not state['opened_urls']:
                self.fail(name, 'the address did not open')
        else:
            self.fail(name, 'no action ran (%s)' % opened)
        self.check_errors(name, self.state())
        closed = self.js_async('hbWalk.close_all().then('
            'function() { done(null); }, done);')
        if closed:
            self.fail(name, closed)
        self.idle()

    def check_tab(self, name, tab, index, activate=True):
        view_type = tab.get('view_type')
        if tab['kind'] == 'tab-board':
            self.counts['boards'] += 1
        elif view_type == 'tree':
            self.check_list(name, tab, index, activate=activate)
        elif view_type == 'form':
            if not tab.get('widgets'):
                self.fail(name, 'the form shows no fields')
            else:
                self.counts['forms'] += 1
        elif view_type == 'graph':
            self.counts['graphs'] += 1
            if not tab.get('svg'):
                self.fail(name, 'the graph did not render')
        elif view_type == 'calendar':
            self.counts['calendars'] += 1
            if not tab.get('calendar'):
                self.fail(name, 'the calendar did not render')
        else:
            self.fail(name, 'unexpected tab %s' % tab)

    def check_list(self, name, tab, index, activate=True):
        self.counts['lists'] += 1
        count = max(tab.get('search_count') or 0, tab.get('records') or 0)
        if not count:
            return
        if not tab.get('rows'):
            self.fail(name, 'the list shows no rows although it counts %d '
                'records' % count)
            return
        self.counts['lists with rows'] += 1
        if not activate or index or (
                tab.get('views', 1) < 2 and not tab.get('keyword_open')):
            return  # no other view
        self.js('hbWalk.reset();')
        self.js_async('hbWalk.activate_first_row().always(done);')
        # A row activation goes through sao's debounced handlers
        self.idle(250)
        state = self.state()
        if tab.get('keyword_open'):
            # The row opens its own action (as a menu's tree does)
            if len(state['tabs']) < 2 and not state['wizards']:
                self.fail(name, 'the first row opened nothing')
            for other in state['tabs'][1:]:
                self.check_tab(name + ' → ' + (other['name'] or ''), other,
                    0, activate=False)
            self.check_wizard(name, state, optional=True)
            return
        current = state['tabs'][0]
        if current.get('view_type') == 'tree':
            self.fail(name, 'the first record did not open (%s)' % current)
        elif current.get('view_type') == 'form' and not current.get(
                'record_id'):
            self.fail(name, 'the form shows no record (%s)' % current)
        else:
            # The list's next view: its form, or a graph
            self.check_tab(name, current, 0, activate=False)

    def check_wizard(self, name, state, optional=False):
        if not state['wizards']:
            if not optional:
                self.fail(name, 'no wizard started')
            return
        self.counts['wizards'] += 1
        pending = [w for w in state['wizards'] if w['ended'] == 'pending']
        for wizard in pending:
            if not wizard['waiting']:
                self.fail(name, 'the wizard shows no form (%s)' % wizard)
        if not pending:
            return
        self.js('return hbWalk.cancel_wizards();')
        self.idle(150)
        state = self.state()
        for wizard in state['wizards']:
            if wizard['ended'] == 'pending':
                self.fail(name, 'the wizard was not cancelled (%s)' % wizard)
        # What a wizard opened on its way (a tab) is checked too
        for index, tab in enumerate(state['tabs']):
            if tab['kind'] != 'tab-wizard':
                self.check_tab(name, tab, index)

    def main_screen(self, path):
        "Open the role's main list beside the menu and keep a screenshot"
        entry = MAIN_SCREEN.get(self.role)
        if entry:
            menu_id = self.js_async(
                'Sao.rpc({method: "model.ir.model.data.get_id", '
                'params: [arguments[0], arguments[1], {}]}, '
                'Sao.Session.current_session).then(done, '
                'function() { done(null); });', *entry.split('.'))
            if menu_id:
                self.js_async('hbWalk.open(arguments[0]).then(done);',
                    menu_id)
                self.idle()
        self.driver.save_screenshot(path)


def entries_of_roles(logins):
    "Return the ids of the menu entries with an action the logins see"
    with Transaction().start(DB_NAME, 0, readonly=True):
        pool = Pool()
        Menu = pool.get('ir.ui.menu')
        User = pool.get('res.user')
        ids = set()
        for user in User.search([('login', 'in', logins)]):
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=True):
                ids.update(m.id for m in Menu.search([]) if m.action)
        return ids


def walk_role(server, role, login, skip=()):
    "Walk role's menu in a new browser; return the Walk"
    start = time.monotonic()
    driver = chromium_driver(width=1280, height=800, language='fi')
    driver.set_script_timeout(120)
    walk = Walk(driver, role, login, skip=skip)
    try:
        walk.log_in(server.url, PASSWORD)
        walk.walk()
        if os.environ.get('HB_UPDATE_SCREENS'):
            os.makedirs(SCREENS, exist_ok=True)
            path = os.path.join(SCREENS, 'sao-%s.png' % role)
        else:
            os.makedirs(ARTIFACTS, exist_ok=True)
            path = os.path.join(ARTIFACTS, 'sao-role-%s.png' % role)
        walk.main_screen(path)
    except Exception as exception:
        walk.fail('walk', '%s: %s' % (
                type(exception).__name__, str(exception)[:2000]))
    finally:
        driver.quit()
    walk.seconds = time.monotonic() - start
    return walk


def _role_test(role, login):
    def test(self):
        walk = self.walks[role]
        print('\n    %s (%s): %s, %d failures, %.0f s' % (
                role, login, ', '.join('%d %s' % (v, k)
                    for k, v in walk.counts.items() if v),
                len(walk.failures), walk.seconds))
        self.assertFalse(walk.failures, '\n'.join(walk.failures))
    test.__doc__ = "In sao as %s (%s): every menu entry works" % (
        role.replace('_', ' '), login)
    return test


class SaoRolesTestCase(unittest.TestCase):
    """Each demo role opens every screen it can see in sao (the roles are
    walked WORKERS at a time, each browser with its own trytond)"""

    @classmethod
    def setUpClass(cls):
        import queue
        import threading
        start = time.monotonic()
        setup_seconds = create_demo_database()
        others = entries_of_roles(
            [login for role, login in roles() if role != 'admin'])
        todo = queue.Queue()
        # The longest walk first
        for role, login in sorted(roles(), key=lambda r: r[0] != 'admin'):
            todo.put((role, login))
        cls.walks = {}
        cls.servers = [TrytondServer(DB_NAME) for _ in range(WORKERS)]

        def work(server):
            while True:
                try:
                    role, login = todo.get_nowait()
                except queue.Empty:
                    return
                cls.walks[role] = walk_role(server, role, login,
                    skip=others if role == 'admin' else ())

        threads = [threading.Thread(target=work, args=(server,))
            for server in cls.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print('\n    sao roles: database %.0f s, walks %.0f s' % (
                setup_seconds, time.monotonic() - start - setup_seconds),
            end=' ')

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop()
        drop_db()


for _role, _login in roles():
    setattr(SaoRolesTestCase, 'test_%s' % _role, _role_test(_role, _login))
