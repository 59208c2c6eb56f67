# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The bank's side of the provider payments for the tests and the demo:
the camt.054 (debit notification) and camt.053 (statement) a bank sends
back for the transfers of a pain.001, booked or returned with a reason."""
import datetime as dt
from decimal import Decimal
from xml.sax.saxutils import escape

CAMT054 = 'urn:iso:std:iso:20022:tech:xsd:camt.054.001.02'
CAMT053 = 'urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'


def transfers(pain001):
    """Return the transfers of the pain.001 (bytes) as dicts: instr_id,
    end_to_end_id, amount, currency, name, iban"""
    from lxml import etree
    xml = etree.fromstring(bytes(pain001))
    ns = {'p': xml.nsmap[None]}
    debtor_iban = xml.xpath(
        '//p:PmtInf/p:DbtrAcct/p:Id/p:IBAN/text()', namespaces=ns)
    result = []
    for transfer in xml.xpath('//p:CdtTrfTxInf', namespaces=ns):
        amount = transfer.xpath('p:Amt/p:InstdAmt', namespaces=ns)[0]
        result.append({
                'instr_id': (transfer.xpath(
                        'p:PmtId/p:InstrId/text()', namespaces=ns)
                    or [None])[0],
                'end_to_end_id': transfer.xpath(
                    'p:PmtId/p:EndToEndId/text()', namespaces=ns)[0],
                'amount': Decimal(amount.text),
                'currency': amount.get('Ccy'),
                'name': (transfer.xpath(
                        'p:Cdtr/p:Nm/text()', namespaces=ns) or [''])[0],
                'iban': (transfer.xpath(
                        'p:CdtrAcct/p:Id/p:IBAN/text()', namespaces=ns)
                    or [''])[0],
                'debtor_iban': debtor_iban[0] if debtor_iban else '',
                })
    return result


def _entry(transfer, date, returned=None, with_instr_id=False):
    """The Ntry of transfer: booked (DBIT), or returned (CRDT, RtrInf with
    the reason code and its text of returned = (code, text))"""
    side = 'CRDT' if returned else 'DBIT'
    refs = ''
    if with_instr_id and transfer.get('instr_id'):
        refs += '<InstrId>%s</InstrId>' % escape(transfer['instr_id'])
    refs += '<EndToEndId>%s</EndToEndId>' % escape(transfer['end_to_end_id'])
    return_info = ''
    if returned:
        code, text = returned
        return_info = ('<RtrInf><Rsn><Cd>%s</Cd></Rsn>'
            '<AddtlInf>%s</AddtlInf></RtrInf>') % (
            escape(code), escape(text or ''))
    amount = '<Amt Ccy="%s">%s</Amt>' % (
        transfer.get('currency') or 'EUR', transfer['amount'])
    return (
        '<Ntry>%(amount)s<CdtDbtInd>%(side)s</CdtDbtInd><Sts>BOOK</Sts>'
        '<BookgDt><Dt>%(date)s</Dt></BookgDt>'
        '<ValDt><Dt>%(date)s</Dt></ValDt>'
        '<NtryDtls><TxDtls><Refs>%(refs)s</Refs>'
        '<AmtDtls><TxAmt>%(amount)s</TxAmt></AmtDtls>'
        '<RltdPties><Cdtr><Nm>%(name)s</Nm></Cdtr>'
        '<CdtrAcct><Id><IBAN>%(iban)s</IBAN></Id></CdtrAcct></RltdPties>'
        '%(return_info)s</TxDtls></NtryDtls></Ntry>') % {
        'amount': amount, 'side': side, 'date': date.isoformat(),
        'refs': refs, 'name': escape(transfer.get('name') or ''),
        'iban': escape(transfer.get('iban') or ''),
        'return_info': return_info,
        }


def camt054(transfers, date=None, returned=None, with_instr_id=False,
        message_id='HB-CAMT054-1'):
    """Return the camt.054 (bytes) of the bank for transfers: each booked,
    or returned when its EndToEndId is in returned ({id: (code, text)})"""
    date = date or dt.date.today()
    returned = returned or {}
    account = transfers[0].get('debtor_iban', '') if transfers else ''
    entries = ''.join(
        _entry(t, date, returned.get(t['end_to_end_id']),
            with_instr_id=with_instr_id)
        for t in transfers)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="%(ns)s"><BkToCstmrDbtCdtNtfctn>'
        '<GrpHdr><MsgId>%(id)s</MsgId><CreDtTm>%(date)sT10:00:00</CreDtTm>'
        '</GrpHdr><Ntfctn><Id>%(id)s</Id>'
        '<CreDtTm>%(date)sT10:00:00</CreDtTm>'
        '<Acct><Id><IBAN>%(account)s</IBAN></Id><Ccy>EUR</Ccy></Acct>'
        '%(entries)s</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>') % {
        'ns': CAMT054, 'id': escape(message_id), 'date': date.isoformat(),
        'account': escape(account), 'entries': entries,
        }
    return xml.encode('utf-8')


def camt053(transfers, date=None, returned=None, statement_id='HB-1',
        start_balance=Decimal('10000.00')):
    """Return the camt.053 (bytes) of the day's statement of the company's
    account: each transfer booked (DBIT) and, when its EndToEndId is in
    returned ({id: (code, text)}), its return (CRDT) too"""
    date = date or dt.date.today()
    returned = returned or {}
    account = transfers[0].get('debtor_iban', '') if transfers else ''
    entries, total = [], Decimal(0)
    for transfer in transfers:
        entries.append(_entry(transfer, date))
        total -= transfer['amount']
        if transfer['end_to_end_id'] in returned:
            entries.append(_entry(
                    transfer, date, returned[transfer['end_to_end_id']]))
            total += transfer['amount']
    end_balance = start_balance + total

    def balance(code, amount):
        return ('<Bal><Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp>'
            '<Amt Ccy="EUR">%s</Amt><CdtDbtInd>%s</CdtDbtInd>'
            '<Dt><Dt>%s</Dt></Dt></Bal>') % (
            code, abs(amount), 'CRDT' if amount >= 0 else 'DBIT',
            date.isoformat())
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="%(ns)s"><BkToCstmrStmt>'
        '<GrpHdr><MsgId>%(id)s</MsgId><CreDtTm>%(date)sT18:00:00</CreDtTm>'
        '</GrpHdr><Stmt><Id>%(id)s</Id>'
        '<CreDtTm>%(date)sT18:00:00</CreDtTm>'
        '<Acct><Id><IBAN>%(account)s</IBAN></Id><Ccy>EUR</Ccy></Acct>'
        '%(balances)s'
        '<TxsSummry><TtlNtries><NbOfNtries>%(count)s</NbOfNtries>'
        '<TtlNetNtry><Amt>%(net)s</Amt><CdtDbtInd>%(net_side)s</CdtDbtInd>'
        '</TtlNetNtry></TtlNtries></TxsSummry>'
        '%(entries)s</Stmt></BkToCstmrStmt></Document>') % {
        'ns': CAMT053, 'id': escape(statement_id), 'date': date.isoformat(),
        'account': escape(account),
        'balances': balance('OPBD', start_balance)
        + balance('CLBD', end_balance),
        'count': len(entries), 'net': abs(total),
        'net_side': 'CRDT' if total >= 0 else 'DBIT',
        'entries': ''.join(entries),
        }
    return xml.encode('utf-8')
