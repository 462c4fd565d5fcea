"""Identity documents and phone numbers: validation, normalisation and masking.

Error messages are English message ids for the translation catalogues.
This module knows nothing of Flask or the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import date

import phonenumbers

from gantong.core.kinds import N_

DOC_RESIDENT_ID, DOC_PASSPORT, DOC_PERMIT = "resident_id", "passport", "permit"
DOC_TYPES = (DOC_RESIDENT_ID, DOC_PASSPORT, DOC_PERMIT)


MSG_PHONE_FORMAT = N_(
    "Enter an 11-digit mainland mobile number, or an international number starting with +."
)
MSG_PHONE_INVALID = N_("This is not a valid phone number.")
MSG_PHONE_NOT_MOBILE = N_("This is not a mobile number: the reset codes come by SMS.")
MSG_ID_LENGTH = N_("A resident ID number has 18 characters: 17 digits and a digit or X.")
MSG_ID_PROVINCE = N_("The first two digits are not a province code.")
MSG_ID_DATE = N_("The birth date in the number is not a real date.")
MSG_ID_FUTURE = N_("The birth date in the number is in the future.")
MSG_ID_TOO_OLD = N_("The birth year in the number is before 1800.")
MSG_ID_CHECK = N_("The check digit is wrong.")
MSG_PASSPORT = N_("A passport number has 5 to 20 letters and digits.")
MSG_PERMIT = N_("A permit number has 8 to 11 letters and digits.")
MSG_DOC_TYPE = N_("Choose a document type.")
MSG_NAME_CHARACTERS = N_(
    "Write the name as the identity document has it: letters of any script, spaces, and the "
    "marks · - ' only; no digits, emoji or other symbols."
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# A floor against typing slips (18 for 19), far below any living person: GB 11643's own
# example was born in 1880.
_EARLIEST_BIRTH_YEAR = 1800

_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_PERMIT = re.compile(r"[A-Z0-9]{8,11}")


class InvalidDocument(ValueError):
    """A document number was refused; str() is a message id for translation."""


class InvalidPhone(ValueError):
    """A phone number was refused; str() is a message id for translation."""


class InvalidName(ValueError):
    """A legal name was refused; str() is a message id for translation."""


def _compact(raw: str) -> str:
    # Chinese input methods often type full-width digits and letters; NFKC folds
    # them to ASCII, and people group long numbers with spaces.
    return "".join(unicodedata.normalize("NFKC", raw).split())


# Types a number that can receive an SMS may have; some countries' metadata (the United
# States, Canada...) cannot tell mobiles from landlines, so FIXED_LINE_OR_MOBILE passes.
_MOBILE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


def normalise_phone(raw: str) -> str:
    """Return the mobile number in E.164, or raise InvalidPhone.

    Google's phonenumbers library parses and validates every country, China too; spaces, dots,
    dashes and parentheses are allowed however they are placed. A number without + or 00 is
    read as a mainland number. Accounts are reset by SMS, so only mobile numbers pass.
    """
    if not isinstance(raw, str):
        raise InvalidPhone(MSG_PHONE_FORMAT)
    text = unicodedata.normalize("NFKC", raw).strip()
    international = text.startswith(("+", "00"))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone(MSG_PHONE_INVALID if international else MSG_PHONE_FORMAT) from None
    mainland = number.country_code == 86
    message = MSG_PHONE_FORMAT if mainland else MSG_PHONE_INVALID
    if number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(message)
    allowed = {phonenumbers.PhoneNumberType.MOBILE} if mainland else _MOBILE_TYPES
    if phonenumbers.number_type(number) not in allowed:
        raise InvalidPhone(MSG_PHONE_NOT_MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_digit(first17: str) -> str:
    """Return the GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits."""
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError("the check digit needs exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def birth_date(resident_id: str) -> date:
    """Return the birth date written in a resident ID number; ValueError if not real."""
    digits = resident_id[6:14]
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise ValueError("no birth date in this number")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def validate_resident_id(raw: str, today: date, province_codes: Collection[str]) -> str:
    """Return the normalised resident ID number (upper-case X), or raise InvalidDocument."""
    number = _compact(raw).upper()
    if not _RESIDENT_ID.fullmatch(number):
        raise InvalidDocument(MSG_ID_LENGTH)
    # Only the province is checked: six-digit area codes abolished since the card
    # was issued stay valid for the life of the card.
    if number[:2] not in province_codes:
        raise InvalidDocument(MSG_ID_PROVINCE)
    try:
        born = birth_date(number)
    except ValueError:
        raise InvalidDocument(MSG_ID_DATE) from None
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidDocument(MSG_ID_TOO_OLD)
    if born > today:
        raise InvalidDocument(MSG_ID_FUTURE)
    if check_digit(number[:17]) != number[17]:
        raise InvalidDocument(MSG_ID_CHECK)
    return number


def validate_passport(raw: str) -> str:
    """Return the passport number upper-cased without spaces, or raise InvalidDocument."""
    number = _compact(raw).upper()
    if not _PASSPORT.fullmatch(number):
        raise InvalidDocument(MSG_PASSPORT)
    return number


def validate_permit(raw: str) -> str:
    """Return the Hong Kong/Macao/Taiwan permit number upper-cased, or raise InvalidDocument."""
    number = _compact(raw).upper()
    if not _PERMIT.fullmatch(number):
        raise InvalidDocument(MSG_PERMIT)
    return number


def validate_document(
    doc_type: str, number: str, today: date, province_codes: Collection[str]
) -> str:
    """Return the normalised number for a document of doc_type, or raise InvalidDocument."""
    if doc_type == DOC_RESIDENT_ID:
        return validate_resident_id(number, today, province_codes)
    if doc_type == DOC_PASSPORT:
        return validate_passport(number)
    if doc_type == DOC_PERMIT:
        return validate_permit(number)
    raise InvalidDocument(MSG_DOC_TYPE)


# What a legal name may hold, by Unicode general category: letters of every script (L*: Lu,
# Ll, Lt, Lm, Lo: Han, Arabic for Uyghur, Latin, Cyrillic, kana...), combining marks (M*: Mn,
# Mc, Me), which Devanagari, Thai, Vietnamese and decomposed accents need, and the space; plus
# the punctuation identity documents print inside names: the middle dots of minority and
# transliterated names (U+00B7 ·, U+30FB ・, and U+2022 • and U+2027 ‧ that phones and
# Taiwanese documents use for it), the hyphen (U+002D, U+2010) and the apostrophe of
# O'Brien or N'Diaye (U+0027, and U+2019 ’ that phones type for it). Any space separator (Zs)
# counts as a space. Digits (N*), symbols and emoji (S*), other punctuation (P*), control and
# invisible characters (C*) and line or paragraph separators (Zl, Zp) are refused.
_NAME_PUNCTUATION = frozenset("\u00b7\u30fb\u2022\u2027-\u2010'\u2019")


def normalise_legal_name(raw: str) -> str:
    """Return the name composed (NFC), with its spaces collapsed, or raise InvalidName."""
    if not isinstance(raw, str):
        raise InvalidName(MSG_NAME_CHARACTERS)
    # Every space separator (Zs: the ideographic space of Chinese input methods, the no-break
    # space) is one space; a tab or a newline (Cc) is refused below, not folded into a space.
    spaced = "".join(
        " " if unicodedata.category(character) == "Zs" else character
        for character in unicodedata.normalize("NFC", raw)
    )
    name = " ".join(part for part in spaced.split(" ") if part)
    has_letter = False
    for character in name:
        category = unicodedata.category(character)
        if category[0] == "L":
            has_letter = True
        elif category[0] != "M" and character != " " and character not in _NAME_PUNCTUATION:
            raise InvalidName(MSG_NAME_CHARACTERS)
    if not has_letter:
        raise InvalidName(MSG_NAME_CHARACTERS)
    return name


def _mask_word(word: str) -> str:
    return word[:1] + "*" * (len(word) - 1)


def mask_name(name: str) -> str:
    """Return the name with all but its first (and, for 3+ characters, last) hidden."""
    name = name.strip()
    words = name.split()
    if len(words) > 1:
        return " ".join(_mask_word(word) for word in words)
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def document_tail(number: str) -> str:
    """Return the last four characters of a document number."""
    return number[-4:]


def mask_document(number: str) -> str:
    """Return the number with most characters starred, showing at most half of it."""
    length = len(number)
    if length >= 14:
        return number[:3] + "*" * (length - 7) + number[-4:]
    if length >= 8:
        return "*" * (length - 4) + number[-4:]
    if length >= 4:
        return "*" * (length - 2) + number[-2:]
    return "*" * length


def mask_phone(phone: str) -> str:
    """Return an account's number as people show it to others: 138****0000 (mainland), or the
    international number with all but its first and last four digits starred."""
    digits = phone.removeprefix("+86") if phone.startswith("+86") else phone
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * 4 + digits[-4:]
