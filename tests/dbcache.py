# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Layered test databases: each HB module is activated on top of the cached
database of the HB module it depends on, as an administrator activates a
module on a running database, instead of from an empty database each time.

trytond's ``activate_module(['hb_avain'])`` on a cold test cache activates
every module from nothing (ir, res, party, company, account, ... and the four
HB modules), and so does ``activate_module(['hb_voucher'])`` and each
scenario's ``activate_modules('hb_voucher', create_company, create_chart)``:
on a fresh machine (CI) the suite paid for the same work eight times.
``install()`` wraps both so that on a cache miss:

- ``activate_module(modules)`` restores (or makes, the same way) the cached
  database of the largest HB module below the ones asked for in the chain
  hb_budget < hb_marketplace < hb_voucher < hb_avain, then activates the
  rest on it with trytond's own ``activate_module`` (whose database then
  exists), which caches the result under its usual name;
- ``activate_modules(modules, *setup)`` (the proteus scenarios) starts from
  ``activate_module(modules)``'s cached database and runs only the set-up
  functions (company, chart) on it before caching it under its usual name.

Two processes that need the same database at once (the test runner's
queue, the benchmark's smoke run) take a lock per cache name, in the order
of the chain: the second one waits and restores what the first one made.
The databases are the same as trytond's own: the same modules activated by
the same wizard, in the order of their dependencies; only the record ids of
the activated data may differ."""
import contextlib
import fcntl
import hashlib
import os
import tempfile
from functools import partial

# The HB modules, each depending on all before it
CHAIN = ['hb_budget', 'hb_marketplace', 'hb_voucher', 'hb_avain']
_installed = False


def _lock_path(name):
    key = '%s|%s' % (os.environ.get('DB_CACHE', ''),
        os.environ.get('TRYTOND_DATABASE__URI', ''))
    folder = os.path.join(tempfile.gettempdir(),
        'hb-dbcache-%s' % hashlib.sha1(key.encode()).hexdigest()[:12])
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder,
        hashlib.sha1(name.encode()).hexdigest()[:16] + '.lock')


_held = set()


@contextlib.contextmanager
def _locked(name):
    """Hold the lock of the cache name (shared by the processes of a run;
    taken again by its holder, e.g. activate_modules('hb_avain') calling
    activate_module(['hb_avain']), it does not wait for itself)"""
    if name in _held:
        yield
        return
    with open(_lock_path(name), 'a') as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        _held.add(name)
        try:
            yield
        finally:
            _held.discard(name)
            fcntl.flock(file, fcntl.LOCK_UN)


def _func_name(func):
    "The name trytond's activate_modules gives a set-up function"
    if isinstance(func, partial):
        return f'{func.func.__qualname__}(*{func.args}, **{func.keywords})'
    return func.__qualname__


def _base(modules):
    """The HB module of the chain whose database is the one to start from:
    the largest HB module below every HB module asked for, or None"""
    if any(m not in CHAIN for m in modules):
        return None
    top = max(CHAIN.index(m) for m in modules)
    if top == 0:
        return None
    return CHAIN[top - 1]


def install():
    """Wrap trytond's activate_module and activate_modules (once per
    process; before the test modules are imported)"""
    global _installed
    if _installed or not os.environ.get('DB_CACHE'):
        return
    _installed = True
    from proteus import config as pconfig
    from trytond.tests import test_tryton, tools
    original = test_tryton.activate_module

    def activate_module(modules, lang='en'):
        if isinstance(modules, str):
            modules = [modules]
        if lang != 'en' or test_tryton.db_exist(test_tryton.DB_NAME):
            return original(modules, lang=lang)
        name = '-'.join(modules)
        if test_tryton.restore_db_cache(name):
            return
        with _locked(name):
            # another process may have made it meanwhile
            if test_tryton.restore_db_cache(name):
                return
            base = _base(modules)
            if base:
                activate_module([base])
            # activates the rest on the existing database and caches it
            original(modules, lang=lang)
    activate_module.__doc__ = original.__doc__
    test_tryton.activate_module = activate_module

    def activate_modules(modules, *setup):
        if isinstance(modules, str):
            modules = [modules]
        cache_name = '-'.join(sorted(modules))
        if setup_name := '|'.join(_func_name(f) for f in setup):
            cache_name += f'--{setup_name}'
        # A test class before it in the process may have left the database
        # with its connections open (the pool keeps them): restoring drops
        # the database, which PostgreSQL refuses while they are open.
        test_tryton.drop_db()
        if test_tryton.restore_db_cache(cache_name):
            return pconfig.set_trytond()
        with _locked(cache_name):
            if test_tryton.restore_db_cache(cache_name):
                return pconfig.set_trytond()
            test_tryton.drop_db()
            test_tryton.activate_module(sorted(modules))
            config = pconfig.set_trytond()
            for func in setup:
                func(config=config)
            test_tryton.backup_db_cache(cache_name)
            return config
    tools.activate_modules = activate_modules
