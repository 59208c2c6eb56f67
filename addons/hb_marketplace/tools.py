# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Validation and formatting of the identifiers a provider gives.

The same libraries Tryton uses for party identifiers (python-stdnum),
phone numbers (phonenumbers) and emails, with the marketplace's messages."""
import re

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.fi import ytunnus
from trytond.i18n import gettext
from trytond.tools.email_ import (
    EmailNotValidError,
    normalize_email,
    validate_email,
)

from .exceptions import (
    InvalidBIC,
    InvalidBusinessId,
    InvalidEmail,
    InvalidIBAN,
    InvalidPhone,
    InvalidVATNumber,
)

try:
    import phonenumbers
except ImportError:  # pragma: no cover
    phonenumbers = None

# A minimal check for when email-validator is not installed (then
# Tryton's validate_email accepts anything)
EMAIL_PATTERN = re.compile(r'^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>".]+$')
# Ids are INTEGER columns (PostgreSQL's 4 bytes): anything above can name
# no record, and a database refuses to compare with it (issue 15)
MAX_ID = 2 ** 31 - 1
# The converter of ids in route paths: a larger number matches no route
ID_CONVERTER = 'int(max=%d)' % MAX_ID
LANGUAGES = [
    ('fi', "Finnish"),
    ('sv', "Swedish"),
    ('en', "English"),
    ]


def parse_id(value):
    """Return the record id written in value (a query or form parameter)
    or None when it is not a whole number from 1 to MAX_ID"""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        return None
    number = int(digits)
    return number if 0 < number <= MAX_ID else None


def format_business_id(value):
    "Return the Y-tunnus formatted (1234567-8) or raise InvalidBusinessId"
    value = (value or '').strip()
    if not ytunnus.is_valid(value):
        raise InvalidBusinessId(gettext(
                'hb_marketplace.msg_invalid_business_id', code=value))
    return ytunnus.format(value)


def format_vat_number(value):
    "Return the EU VAT number compacted (FI12345678), None if empty"
    value = (value or '').strip()
    if not value:
        return None
    if not stdnum_vat.is_valid(value):
        raise InvalidVATNumber(gettext(
                'hb_marketplace.msg_invalid_vat_number', code=value))
    return stdnum_vat.compact(value)


def format_iban(value):
    "Return the IBAN formatted in groups of four or raise InvalidIBAN"
    value = (value or '').strip()
    if not stdnum_iban.is_valid(value):
        raise InvalidIBAN(gettext(
                'hb_marketplace.msg_invalid_iban', iban=value))
    return stdnum_iban.format(value)


def format_bic(value):
    "Return the BIC compacted or raise InvalidBIC"
    value = (value or '').strip()
    if not stdnum_bic.is_valid(value):
        raise InvalidBIC(gettext(
                'hb_marketplace.msg_invalid_bic', bic=value))
    return stdnum_bic.compact(value)


def format_email(value):
    "Return the email address normalized or raise InvalidEmail"
    value = (value or '').strip()
    try:
        if not EMAIL_PATTERN.match(value):
            raise EmailNotValidError(value)
        validate_email(value)
    except EmailNotValidError as exception:
        raise InvalidEmail(gettext(
                'hb_marketplace.msg_invalid_email', email=value)
            ) from exception
    return normalize_email(value).lower()


def format_phone(value):
    "Return the phone number in international format or raise InvalidPhone"
    value = (value or '').strip()
    if phonenumbers is None:
        if not value:
            raise InvalidPhone(gettext(
                    'hb_marketplace.msg_invalid_phone', phone=value))
        return value
    try:
        number = phonenumbers.parse(value, 'FI')
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(gettext(
                'hb_marketplace.msg_invalid_phone', phone=value))
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
