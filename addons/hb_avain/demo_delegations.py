# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo's delegated decision authority (issue 13): the supervisor
decides up to the supervisor limit of the settings and the service
manager up to the service manager limit, as the wellbeing area's
administrative rule (hallintosääntö) delegates them; the service manager
is the official in whose name the client's moves within the limit are
decided automatically (Hallintolaki 53 e §). Run before load_clients, so
that the demo's decisions are approved under these delegations.
Idempotent: nothing is added once a delegation exists."""
from trytond.pool import Pool
from trytond.transaction import Transaction

RULE = "Hallintosäännön delegointi (demo)"
# login, title, the limit of the settings it decides up to
DELEGATIONS = [
    ('pirjo', "Sosiaalityön esihenkilö", 'supervisor_limit'),
    ('leena', "Palvelupäällikkö", 'service_manager_limit'),
    ]
AUTOMATED_DECIDER = 'leena'


def load_delegations():
    pool = Pool()
    Delegation = pool.get('hb.decision.delegation')
    Configuration = pool.get('hb.configuration')
    User = pool.get('res.user')
    if Delegation.search([], limit=1):
        return
    config = Configuration(1)
    users = {u.login: u for u in User.search([
                ('login', 'in', [d[0] for d in DELEGATIONS])])}
    Delegation.save([Delegation(
                company=Transaction().context['company'],
                user=users[login], title=title,
                max_amount=getattr(config, limit), rule_reference=RULE)
            for login, title, limit in DELEGATIONS])
    config.automated_decider = users[AUTOMATED_DECIDER]
    config.save()
