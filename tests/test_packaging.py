# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The four modules install from their own packages (issue 15, defect 12).

A deployment may install the modules with pip from their folders, without
the checkout's requirements.txt: each module's pyproject.toml must then
declare every third-party package its runtime code imports.

- static: every top-level import of a module's runtime files (its .py
  files outside tests/) that is not the standard library nor the module
  itself is provided by a distribution declared in its pyproject.toml
  (``trytond.modules.x`` by ``trytond-x`` or, for the HB modules, ``hb-x``);
- installed: an empty virtualenv gets the four modules from their folders
  (not editable, their declared dependencies only), then every runtime
  file of each module is imported there (``trytond.modules.hb_x.<file>``);
  any ImportError fails the test."""
import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ['hb_budget', 'hb_marketplace', 'hb_voucher', 'hb_avain']


def normalize(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def runtime_files(module):
    "The module's runtime .py files (relative paths), tests left out"
    folder = os.path.join(ROOT, 'addons', module)
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames
            if d not in {'tests', '__pycache__', 'build'}
            and not d.endswith('.egg-info')]
        for filename in filenames:
            if filename.endswith('.py'):
                files.append(os.path.relpath(
                        os.path.join(dirpath, filename), folder))
    return sorted(files)


def top_level_imports(path):
    """Return the absolute module names imported when path is imported
    (module level, including inside top-level if and try blocks)"""
    with open(path, encoding='utf-8') as file:
        tree = ast.parse(file.read(), path)
    names = []

    def visit(statements):
        for node in statements:
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if not node.level:
                    names.append(node.module)
            elif isinstance(node, (ast.If, ast.Try)):
                for field in ['body', 'orelse', 'finalbody']:
                    visit(getattr(node, field, []))
                for handler in getattr(node, 'handlers', []):
                    visit(handler.body)
    visit(tree.body)
    return names


def declared(module):
    "The normalized distribution names of the module's dependencies"
    with open(os.path.join(ROOT, 'addons', module, 'pyproject.toml'),
            'rb') as file:
        project = tomllib.load(file)['project']
    return {normalize(re.split(r'[\s<>=!~;\[(]', requirement, maxsplit=1)[0])
        for requirement in project.get('dependencies', [])}


def distribution(name, providers):
    """Return the normalized distribution that provides the imported name,
    None for the standard library"""
    parts = name.split('.')
    top = parts[0]
    if top in sys.stdlib_module_names:
        return None
    if top == 'trytond' and len(parts) > 2 and parts[1] == 'modules':
        module = parts[2]
        if module.startswith('hb_'):
            return normalize(module)
        return normalize('trytond-' + module)
    if top == 'trytond':
        return 'trytond'
    dists = providers.get(top)
    if not dists:
        return normalize(top)  # not installed here: reported as missing
    return normalize(dists[0])


class PackagingTestCase(unittest.TestCase):
    "Test that each module declares and installs what it imports"

    def test_declared_imports(self):
        "Every third-party import of the runtime code is a dependency"
        providers = importlib.metadata.packages_distributions()
        missing = []
        for module in MODULES:
            dependencies = declared(module)
            for path in runtime_files(module):
                full = os.path.join(ROOT, 'addons', module, path)
                for name in top_level_imports(full):
                    dist = distribution(name, providers)
                    if dist is None or dist == normalize(module):
                        continue
                    if dist not in dependencies:
                        missing.append('%s/%s imports %s (%s)' % (
                                module, path, name, dist))
        self.assertEqual(missing, [])

    def test_install_and_import(self):
        "The four modules install into an empty virtualenv and import"
        with tempfile.TemporaryDirectory() as folder:
            venv = os.path.join(folder, 'venv')
            python = os.path.join(venv, 'bin', 'python')
            start = time.monotonic()
            subprocess.run(
                [sys.executable, '-m', 'venv', venv], check=True,
                capture_output=True)
            env = dict(os.environ)
            # The test run's own settings (its database URI selects the
            # PostgreSQL backend, whose driver is the deployment's choice,
            # not a dependency of the modules) stay out of the new venv
            for name in list(env):
                if (name in {'PYTHONPATH', 'VIRTUAL_ENV', 'DB_NAME',
                            'DB_CACHE'}
                        or name.startswith('TRYTOND_')):
                    del env[name]
            env['PYTHONWARNINGS'] = 'ignore'
            # Not editable: what a deployment gets from the packages, built
            # from copies (a build leaves build/ and *.egg-info behind)
            sources = []
            for module in MODULES:
                source = os.path.join(folder, 'src', module)
                shutil.copytree(os.path.join(ROOT, 'addons', module), source,
                    ignore=shutil.ignore_patterns(
                        '__pycache__', 'build', '*.egg-info'))
                sources.append(source)
            process = subprocess.run(
                [python, '-m', 'pip', 'install', '-q',
                    '--disable-pip-version-check', *sources],
                cwd=folder, env=env, capture_output=True, text=True)
            self.assertEqual(process.returncode, 0,
                process.stdout[-3000:] + process.stderr[-3000:])
            installed = time.monotonic()

            names = [('trytond.modules.%s.%s' % (
                        module, path[:-len('.py')].replace(os.sep, '.'))
                    ).removesuffix('.__init__')
                for module in MODULES for path in runtime_files(module)]
            script = (
                'import importlib, json, sys\n'
                'errors = {}\n'
                'for name in json.loads(sys.argv[1]):\n'
                '    try:\n'
                '        module = importlib.import_module(name)\n'
                '        assert "/site-packages/" in module.__file__, '
                'module.__file__\n'
                '    except ImportError as exception:\n'
                '        errors[name] = repr(exception)\n'
                'print(json.dumps(errors))\n')
            process = subprocess.run(
                [python, '-c', script, json.dumps(names)],
                cwd=folder, env=env, capture_output=True, text=True)
            self.assertEqual(process.returncode, 0, process.stderr[-3000:])
            self.assertEqual(json.loads(process.stdout), {})
            print('\n    packaging: installed in %.1f s, imported %d files '
                'in %.1f s' % (installed - start, len(names),
                    time.monotonic() - installed), file=sys.stderr)
