# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo's standing authorisation and its claims (issue 14): the
own-worker records the authorisation with the client's consent; the
provider claims services delivered under it; each state of a claim is
there for every role to see: pending (dispute window open), disputed,
reduced, rejected, captured, billed (on a posted vendor bill) and paid
(the bill paid by the payment run, the bank's confirmation recorded).

For the first AVAIN carer (+358507000100, the demo's client-page login)
when their budget has room, else for the client whose budget has the
most; run after load_billing, so the demo's other bills are paid first.
Idempotent: the claims carry demo idempotency keys."""
import datetime as dt

from trytond.pool import Pool
from trytond.transaction import Transaction

DEMO_MOBILE = '+358507000100'
KEY = 'demo-claim-%s'
# state, days back of the service date, quantity
CLAIMS = [
    ('paid', 20, 1), ('billed', 19, 1), ('captured', 18, 1),
    ('reduced', 17, 2), ('rejected', 16, 1), ('disputed', 3, 1),
    ('pending', 1, 1),
    ]
UNITS = sum(quantity for _, _, quantity in CLAIMS)


def _candidate(budget, today):
    """Return (product, budget line, available) of the first service
    covering the budget's client in a category of the budget, or None"""
    pool = Pool()
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    Charge = pool.get('hb.charge')
    client = budget.client
    for product in Product.search([
                ('template', 'where', Template.hb_coverage_domain(
                        client.hb_municipality, client.hb_customer_groups,
                        date=today)),
                ], order=[('id', 'ASC')]):
        template = product.template
        line = Charge._budget_line(budget, template.hb_category)
        if line and line.amount and template.list_price:
            return product, line, line.amount - line.reserved - line.spent
    return None


def _world(today):
    "Return (budget, product) of the demo's claims, or None"
    pool = Pool()
    Budget = pool.get('hb.budget')
    best = None
    for budget in Budget.search([
                ('state', '=', 'active'),
                ('start_date', '<=', today - dt.timedelta(days=20)),
                ('end_date', '>=', today),
                ], order=[('id', 'ASC')]):
        candidate = _candidate(budget, today)
        if not candidate:
            continue
        product, _, available = candidate
        needed = product.template.list_price * (UNITS + 1)
        if available < needed:
            continue
        if budget.client.hb_mobile == DEMO_MOBILE:
            return budget, product
        if not best or available > best[2]:
            best = (budget, product, available)
    return best[:2] if best else None


def load_claims():
    pool = Pool()
    try:
        Claim = pool.get('hb.claim')
    except KeyError:
        return
    Authorisation = pool.get('hb.authorisation')
    Billing = pool.get('hb.billing')
    Charge = pool.get('hb.charge')
    Invoice = pool.get('account.invoice')
    Payment = pool.get('account.payment')
    PaymentRun = pool.get('hb.payment.run')
    Queue = pool.get('ir.queue')
    Date = pool.get('ir.date')
    if Claim.search([('idempotency_key', 'like', KEY % '%')], limit=1):
        return
    today = Date.today()
    world = _world(today)
    if not world:
        return
    budget, product = world
    client = budget.client
    template = product.template
    provider = template.hb_provider
    worker = client.hb_own_worker
    transaction = Transaction()

    def as_worker():
        return transaction.set_user(worker.id if worker else 0)

    with as_worker():
        authorisation, = Authorisation.create([{
                    'client': client.id,
                    'budget': budget.id,
                    'provider': provider.id,
                    'category': template.hb_category.id,
                    'product': product.id,
                    'monthly_cap': template.list_price * (UNITS + 1),
                    'valid_from': budget.start_date,
                    'valid_to': budget.end_date,
                    'consent_by': client.name,
                    'consent_method': 'meeting',
                    }])
        Authorisation.activate([authorisation])

    claims = {}
    for state, days, quantity in CLAIMS:
        claims[state], _ = Claim.submit(provider, authorisation.id,
            product.id, today - dt.timedelta(days=days), quantity,
            idempotency_key=KEY % state,
            source='csv' if state in {'paid', 'billed'} else 'portal')

    # The windows of the first three closed a week after their service
    # (claimed on the day): the scheduled task captures them
    early = [claims[s] for s in ['paid', 'billed', 'captured']]
    for claim in early:
        Claim.write([claim], {
                'dispute_end': claim.date + dt.timedelta(days=7)})
    Claim.capture_claims(date=today)

    for state, reason in [
            ('reduced', "Käynti kesti vain yhden tunnin."),
            ('rejected', "Palvelua ei annettu tänä päivänä."),
            ('disputed', "En muista tätä käyntiä.")]:
        Claim.dispute(claims[state], client, reason)
    with as_worker():
        reduced = Claim(claims['reduced'].id)
        reduced.resolution_amount = reduced.unit_price
        reduced.resolution_reason = (
            "Sovittu asiakkaan ja palveluntuottajan kanssa: yksi tunti.")
        reduced.save()
        Claim.reduce([reduced])
        rejected = Claim(claims['rejected'].id)
        rejected.resolution_reason = "Palveluntuottaja vahvisti virheen."
        rejected.save()
        Claim.reject([rejected])

    # The charges of the paid and the billed claim on bills of their own
    # (the demo's other charges wait for the next billing run)
    while Charge.post_sales():
        pass
    paid_charge = Claim(claims['paid'].id).charge
    paid_bill, = Billing._bill([Charge(paid_charge.id)], None, today, today)
    Billing.post_bills([paid_bill])
    paid_bill = Invoice(paid_bill.id)
    group = PaymentRun.pay_vendor_bills(date=today)
    if group:
        payments = [p for p in group.payments
            if p.line and p.line.move == paid_bill.move]
        if payments:
            # the bank's confirmation: the tasks it queues settle the bill
            # (only these: the list may hold ids of tasks of a part
            # rolled back and retried, see run())
            before = len(transaction.tasks)
            Payment.succeed(payments)
            tasks = transaction.tasks[before:]
            del transaction.tasks[before:]
            for task in tasks:
                Queue(task).run()
    billed_charge = Claim(claims['billed'].id).charge
    billed_bill, = Billing._bill(
        [Charge(billed_charge.id)], None, today, today)
    Billing.post_bills([billed_bill])
