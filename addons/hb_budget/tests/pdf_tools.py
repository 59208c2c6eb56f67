# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Reading the letters archived as PDF in tests.

LibreOffice converts the letters. A run that requires it (PostgreSQL, as
CI: scripts/test.sh exports HB_REQUIRE_SOFFICE=1) fails a PDF test when it
is missing; only a quick run without it (scripts/test.sh --sqlite) skips
them, with the reason."""
import io
import os
import zipfile

from trytond import backend

from trytond.modules.hb_budget.letter_pdf import convert_program

MISSING = ("LibreOffice (soffice) is not installed: the letters stay "
    "OpenDocument text and their PDF is not tested (scripts/test.sh "
    "installs it for PostgreSQL runs)")


def soffice_required():
    """Whether this run must convert the letters to PDF: HB_REQUIRE_SOFFICE
    (default: yes on PostgreSQL, no on SQLite)"""
    default = '1' if backend.name == 'postgresql' else '0'
    return os.environ.get('HB_REQUIRE_SOFFICE', default) not in {'', '0'}


def check_soffice(test):
    """Fail test when LibreOffice is missing and required, skip it when
    missing in a quick run"""
    if convert_program():
        return
    if soffice_required():
        test.fail(MISSING + ", and this run requires it "
            "(HB_REQUIRE_SOFFICE)")
    test.skipTest(MISSING)


def letter_extension():
    "The extension archived letters must have in this run"
    return 'pdf' if convert_program() or soffice_required() else 'odt'


def pdf_text(data):
    """Return the text of the PDF data, its white space (line breaks,
    no-break spaces) made single spaces"""
    from pypdf import PdfReader
    data = bytes(data)
    assert data.startswith(b'%PDF'), data[:20]
    reader = PdfReader(io.BytesIO(data))
    return ' '.join(' '.join(
            page.extract_text() or '' for page in reader.pages).split())


def odt_text(data):
    "Return the content.xml of the OpenDocument text data"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as odt:
        return odt.read('content.xml').decode('utf-8')


def archived_text(attachment):
    "Return the text of a letter archived as PDF or OpenDocument text"
    if attachment.name.endswith('.pdf'):
        return pdf_text(attachment.data)
    return odt_text(attachment.data)
