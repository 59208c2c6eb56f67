# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Schemathesis against the JSON API of provider terminals.

Serves the committed world (two providers, clients with budgets, charges)
with a real trytond (tests/browser.py TrytondServer), loads the OpenAPI
document from /<db>/hb/api/v1/openapi.json and lets schemathesis generate
valid and invalid requests for every operation with provider A's key:
no response may be a server error and every response must match the
document (status code, content type, headers, body schema); requests the
document calls invalid must be refused. The example count is bounded so
that the run takes well under a minute.

Needs schemathesis in the virtualenv (pip install schemathesis)."""
import os
import re
import subprocess
import sys
import time

from trytond.tests.test_tryton import DB_NAME

from tests import test_security_access as world
from tests.browser import ARTIFACTS, TrytondServer

MAX_EXAMPLES = int(os.environ.get('HB_FUZZ_EXAMPLES', '25'))
CHECKS = ','.join([
        'not_a_server_error', 'status_code_conformance',
        'content_type_conformance', 'response_headers_conformance',
        'response_schema_conformance', 'negative_data_rejection',
        'ignored_auth'])


class ApiFuzzTestCase(world.WorldTestCase):
    "No 500 and every response as documented, for generated requests"

    def test_fuzz(self):
        st = os.path.join(os.path.dirname(sys.executable), 'st')
        self.assertTrue(os.path.exists(st),
            'schemathesis is not installed in the virtualenv')
        server = TrytondServer(DB_NAME)
        try:
            schema = '%s/%s/hb/api/v1/openapi.json' % (server.url, DB_NAME)
            report = os.path.join(ARTIFACTS, 'schemathesis')
            start = time.monotonic()
            result = subprocess.run([st, 'run', schema,
                    '--checks', CHECKS,
                    '--max-examples', str(MAX_EXAMPLES),
                    '--phases', 'examples,coverage,fuzzing',
                    '--seed', '8',
                    '--workers', '1',
                    '--request-timeout', '20',
                    '--suppress-health-check', 'all',
                    '--no-shrink',
                    '--header', 'Authorization: Bearer %s' % (
                        self.ids['key_a']),
                    '--header', 'Accept-Language: en',
                    '--report', 'junit', '--report-dir', report,
                    ], capture_output=True, text=True, timeout=300,
                env={**os.environ, 'NO_COLOR': '1'})
            elapsed = time.monotonic() - start
        finally:
            server.stop()
        output = result.stdout + result.stderr
        with open(os.path.join(ARTIFACTS, 'schemathesis.log'), 'w') as fp:
            fp.write(output)
        cases = re.findall(r'(\d+) generated', output)
        print('\n    schemathesis: %s test cases in %.0f s' % (
                cases[-1] if cases else '?', elapsed))
        self.assertEqual(result.returncode, 0, output[-6000:])
        with open(server.log_path) as fp:
            log = fp.read()
        self.assertNotIn('Traceback', log, 'the server logged an error')
