# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Helpers of the browser tests: a served trytond and a headless Chromium.

    server = TrytondServer(database)   # serves sao and the HB routes
    driver = chromium_driver()          # selenium, Debian's chromium
    driver.get(server.url + '/')
    ...
    driver.quit(); server.stop()

The test command (scripts/test.sh) installs chromium, chromium-driver and
sao, and sets HB_SAO_ROOT, HB_ARTIFACTS and HB_AXE_JS.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = os.environ.get('HB_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('HB_CHROMEDRIVER', '/usr/bin/chromedriver')
ARTIFACTS = os.environ.get(
    'HB_ARTIFACTS', os.path.join(ROOT, 'tests', 'artifacts'))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TrytondServer:
    "A trytond subprocess serving database (and sao) on a loopback port."

    def __init__(self, database, timeout=60, extra_env=None):
        self.database = database
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        env = os.environ.copy()
        env.update({
                'TRYTOND_WEB__LISTEN': '127.0.0.1:%d' % self.port,
                'TRYTOND_DATABASE_NAMES': database,
                })
        if os.environ.get('HB_SAO_ROOT'):
            env['TRYTOND_WEB__ROOT'] = os.environ['HB_SAO_ROOT']
        env.update(extra_env or {})
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.log_path = os.path.join(ARTIFACTS, 'trytond-%d.log' % self.port)
        self._log = open(self.log_path, 'wb')
        trytond = os.path.join(os.path.dirname(sys.executable), 'trytond')
        self.process = subprocess.Popen(
            [trytond, '-v'], env=env,
            stdout=self._log, stderr=subprocess.STDOUT)
        self._wait(timeout)

    def _wait(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(
                    'trytond exited with %s; see %s' % (
                        self.process.returncode, self.log_path))
            try:
                self.rpc('common.server.version', root=True)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError('trytond did not answer within %s s' % timeout)

    def rpc(self, method, *params, session=None, root=False):
        "Call a JSON-RPC method of the served database (or the server's)"
        path = '/rpc/' if root else '/%s/rpc/' % self.database
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps({
                    'id': 1, 'method': method, 'params': params,
                    }).encode('utf-8'),
            headers={'Content-Type': 'application/json'})
        if session:
            request.add_header('Authorization', session)
        with urllib.request.urlopen(request, timeout=30) as response:
            result = json.loads(response.read())
        if 'error' in result and result['error']:
            raise RuntimeError(result['error'])
        return result['result']

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def chromium_driver(width=1280, height=900, language='en'):
    "A selenium WebDriver for Debian's headless Chromium"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
            '--headless=new', '--no-sandbox', '--disable-gpu',
            '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--disable-extensions',
            '--window-size=%d,%d' % (width, height),
            '--lang=%s' % language,
            ]:
        options.add_argument(argument)
    options.add_experimental_option(
        'prefs', {'intl.accept_languages': language})
    # keep the page's console messages: failures show its errors
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(
        service=Service(executable_path=CHROMEDRIVER), options=options)


def console_errors(driver):
    "Return the page's console messages of level SEVERE"
    try:
        return [entry['message'] for entry in driver.get_log('browser')
            if entry.get('level') == 'SEVERE']
    except Exception as exception:
        return ['(no console log: %s)' % exception]


def screenshot(driver, name):
    "Keep a screenshot of the page as a test artifact; return its path"
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name + '.png')
    driver.save_screenshot(path)
    return path


def run_axe(driver, axe_js=None):
    "Run axe-core on the current page; return its violations"
    axe_js = axe_js or os.environ['HB_AXE_JS']
    with open(axe_js, encoding='utf-8') as fp:
        driver.execute_script(fp.read())
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        'var done = arguments[arguments.length - 1];'
        'axe.run(document, {runOnly: {type: "tag", values: '
        '["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})'
        '.then(function(r) { done(r.violations); })'
        '.catch(function(e) { done([{id: "axe-error", impact: "critical",'
        ' description: String(e), nodes: []}]); });')
    return result
