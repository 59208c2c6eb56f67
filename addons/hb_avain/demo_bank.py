# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo's bank statement (issue 18 item 5): the demo month's payment
group is approved by the finance user (four eyes: the admin made it) and
its pain.001 released; the bank's camt.053 of the day books every transfer
and returns the last one (the provider's account closed, AC04). The
statement is imported through Tryton's statement import, each entry
matched to its payment, and posted: the bills are paid but the returned
one, which is open again and shows in finance's "Returned Payments",
held. Run after load_billing, once."""
from trytond.pool import Pool
from trytond.transaction import Transaction

RETURN_REASON = ('AC04', "Tili on lopetettu")


def load_bank_statement():
    pool = Pool()
    try:
        pool.get('hb.payment.return')
        Statement = pool.get('account.statement')
    except KeyError:
        return
    from trytond.modules.hb_voucher.tests.bank_tools import camt053, transfers
    Group = pool.get('account.payment.group')
    Message = pool.get('account.payment.sepa.message')
    Import = pool.get('account.statement.import', type='wizard')
    User = pool.get('res.user')
    Configuration = pool.get('hb.configuration')
    if Statement.search([], limit=1):
        return
    journal = Configuration(1).hb_payment_journal
    groups = [g for g in Group.search([
                ('journal', '=', journal.id) if journal else ('id', '=', -1),
                ], order=[('id', 'ASC')])
        if g.sepa_messages and len(g.payments) > 1]
    finance = User.search([('login', '=', 'tuula')], limit=1)
    if not groups or not finance:
        return
    group = groups[0]
    message = group.sepa_messages[0]
    if message.state != 'done':
        with Transaction().set_user(finance[0].id):
            Group.hb_approve([group])
            if message.state == 'draft':
                Message.wait([message])
            Message.do([message])
    sent = transfers(message.message)
    date = group.payments[0].date
    statement_journal(journal)
    xml = camt053(sent, date=date,
        returned={sent[-1]['end_to_end_id']: RETURN_REASON},
        statement_id='DEMO-%s' % date.strftime('%Y%m%d'))
    session_id, _, _ = Import.create()
    Import.execute(session_id, {
            'start': {
                'company': journal.company.id,
                'file_': xml,
                'file_format': 'camt_053_001',
                },
            }, 'import_')
    Import.delete(session_id)
    statements = Statement.search([('state', '=', 'draft')])
    Statement.validate_statement(statements)
    Statement.post(statements)


def statement_journal(payment_journal):
    """The statement journal of the wellbeing area's bank account (the
    payment journal's), on a bank account of its own"""
    pool = Pool()
    Journal = pool.get('account.statement.journal')
    Account = pool.get('account.account')
    ModelData = pool.get('ir.model.data')
    AccountJournal = pool.get('account.journal')
    company = payment_journal.company
    bank_account = payment_journal.sepa_bank_account_number.account
    journals = Journal.search([('bank_account', '=', bank_account.id)])
    if journals:
        return journals[0]
    clearing = payment_journal.clearing_account
    cash, = Account.search([
            ('company', '=', company.id), ('type.assets', '=', True),
            ('type.receivable', '=', False),
            ('type.statement', '=', 'balance'),
            ('party_required', '=', False), ('closed', '!=', True),
            ('id', '!=', clearing.id if clearing else -1),
            ], order=[('code', 'ASC'), ('id', 'ASC')], limit=1)
    account = Account(
        name="Pankkitili (HB-maksut)", code='1191', company=company,
        type=cash.type, parent=cash.parent)
    account.save()
    journal = Journal(
        name="Pankkitili", company=company, currency=company.currency,
        journal=AccountJournal(ModelData.get_id(
                'account_statement', 'journal_statement')),
        bank_account=bank_account, account=account, validation='balance')
    journal.save()
    return journal
