# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo's client requests (issue 13, Omasote): what the own-worker
finds in the inbox "Asiakkaiden pyynnöt" and the client on the case page:
an open message, a move between service categories waiting for the
own-worker, a review the own-worker has answered, and a rectification
request received through the client page.

For the demo's client-page login (+358507000100) when their budget has
two service categories, else for the first client whose budget has.
Idempotent: nothing is added when the client already has requests."""
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

DEMO_MOBILE = '+358507000100'


def _budget():
    "Return the active budget of the requests, or None"
    pool = Pool()
    Budget = pool.get('hb.budget')
    found = None
    for budget in Budget.search([
                ('state', '=', 'active'),
                ('decision', '!=', None),
                ('client.hb_own_worker', '!=', None),
                ], order=[('id', 'ASC')]):
        lines = [line for line in budget.lines if line.available > 0]
        if len(lines) < 2 or budget.decision.state != 'approved':
            continue
        if budget.client.hb_mobile == DEMO_MOBILE:
            return budget
        found = found or budget
    return found


def load_requests():
    pool = Pool()
    try:
        Request = pool.get('hb.client.request')
    except KeyError:
        return
    Rectification = pool.get('hb.decision.rectification')
    budget = _budget()
    if budget is None:
        return
    client = budget.client
    if Request.search([('client', '=', client.id)], limit=1):
        return
    source, target = sorted(
        [line for line in budget.lines if line.available > 0],
        key=lambda line: line.available, reverse=True)[:2]
    amount = min(Decimal('50.00'), source.available)
    company = budget.company
    rectification = Rectification(
        company=company, decision=budget.decision, channel='client_page',
        request="Päätöksessä ei huomioitu kesän lomaviikkoja: pyydän "
        "tukipalveluun lisää rahaa.")
    rectification.save()
    message, move, review, rectified = Request.create([{
                'company': company.id, 'client': client.id,
                'person': client.id, 'kind': 'message',
                'text': "Voisimmeko tavata ensi viikolla budjetin "
                "käytöstä?",
                }, {
                'company': company.id, 'client': client.id,
                'person': client.id, 'budget': budget.id, 'kind': 'move',
                'from_category': source.category.id,
                'to_category': target.category.id, 'amount': amount,
                'text': "Tarvitsen kesällä enemmän tätä palvelua.",
                }, {
                'company': company.id, 'client': client.id,
                'person': client.id, 'kind': 'review',
                'text': "Tilanteeni on muuttunut, toivon suunnitelman "
                "tarkistamista.",
                }, {
                'company': company.id, 'client': client.id,
                'person': client.id, 'kind': 'rectification',
                'rectification': rectification.id,
                'text': rectification.request,
                }])
    review.answer = ("Sovitaan tarkistuskäynti, soitan teille tällä "
        "viikolla ajan sopimiseksi.")
    review.save()
    with Transaction().set_user(client.hb_own_worker.id):
        Request.apply([review])
