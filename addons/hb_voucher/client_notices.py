# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The follow-up warnings on the client page (issue 13, item 6): the
warnings of hb_budget's followup.py sent to the page (the settings'
"Notify the Client" is "Client Page Notice") in the last 31 days, newest
first, in the page's language. With "No" or "SMS" the page shows none;
a login without the right to see the balance sees none either."""
from types import SimpleNamespace


def page_context(pool, login):
    "The values of client_notices.html for the client page"
    Configuration = pool.get('hb.configuration')
    Notice = pool.get('hb.budget.notice')
    AccessLog = pool.get('hb.access.log')
    client = login.client
    if not login.may_view_balance:
        return {'followup_notices': []}
    # (the one setting, cached: the record's attributes would load every
    # setting on each view of the page)
    notify = Configuration.get_values(['followup_notify_client'])
    if notify['followup_notify_client'] != 'page':
        return {'followup_notices': []}
    notices = Notice.page_notices(client)
    AccessLog.log_web('client_page', login.person, 'hb.budget.notice',
        [(n.id, client.id) for n in notices])
    return {'followup_notices': [SimpleNamespace(
                id=n.id, kind=n.kind, date=n.date, available=n.available,
                forecast_exhaustion_date=n.forecast_exhaustion_date,
                end_date=n.end_date)
            for n in notices]}
