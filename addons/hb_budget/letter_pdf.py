# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Letters as PDF: rendered by their report, converted by Tryton's own
Report.convert (LibreOffice's soffice, or the command of the [report]
convert_command setting; config/trytond.conf gives each call its own
LibreOffice profile so that concurrent conversions do not collide) and
archived as attachments. A letter whose conversion fails is
kept as the OpenDocument text the report renders, and the failure logged.

With a shared profile the second of two concurrent soffice calls exits
with an error, and trytond 8.0 then retries with an empty command (its
arguments are a map consumed by the first try): Report.convert raises
IndexError. Hence the profile of each call's own."""
import logging
import shlex
import shutil

import trytond.config as config
from trytond.pool import Pool
from trytond.transaction import without_check_access

logger = logging.getLogger(__name__)


def convert_program():
    """Return the path of the program the conversion runs (soffice unless
    configured otherwise), or None when it is not installed"""
    command = config.get('report', 'convert_command', default='soffice')
    words = shlex.split(command)
    return shutil.which(words[0]) if words else None


def render_letter(report_name, record):
    """Return (extension, content, name) of the report of record as PDF,
    or as the OpenDocument text it renders when the conversion fails (the
    failure is logged as a warning)"""
    pool = Pool()
    Report = pool.get(report_name, type='report')
    ActionReport = pool.get('ir.action.report')
    with without_check_access():
        ext, content, _, name = Report.execute([record.id], {})
        if ext != 'odt':
            return ext, content, name
        if not convert_program():
            logger.warning(
                "%s of %s kept as OpenDocument text: the PDF conversion "
                "program (LibreOffice's soffice) is not installed",
                report_name, record)
            return ext, content, name
        action, = ActionReport.search([
                ('report_name', '=', report_name),
                ], limit=1)
        action.extension = 'pdf'  # not saved: the print action stays
        try:
            converted_ext, converted = Report.convert(action, content)
        except Exception as exception:
            logger.warning(
                "%s of %s kept as OpenDocument text: the PDF conversion "
                "failed: %s", report_name, record, exception, exc_info=True)
            return ext, content, name
        if converted_ext != 'pdf' or not bytes(converted).startswith(
                b'%PDF'):
            logger.warning(
                "%s of %s kept as OpenDocument text: the PDF conversion "
                "gave no PDF (see the error logged by trytond.report)",
                report_name, record)
            return ext, content, name
        return converted_ext, converted, name


def archive_report(report_name, record):
    """Render the report of record and store it as an attachment of the
    record: as PDF, or as the OpenDocument text when the conversion fails
    (logged), so that the letter is never lost"""
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    ext, content, name = render_letter(report_name, record)
    with without_check_access():
        attachment = Attachment(
            resource=record, name='%s.%s' % (name, ext),
            data=content)
        attachment.save()
    return attachment
