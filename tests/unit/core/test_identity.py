from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gantong.core import identity
from gantong.core.identity import InvalidDocument, InvalidPhone

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

# The 31 provinces of the division code table (../shared/data/divisions).
PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
    }
)
TODAY = date(2024, 6, 1)
# Both are widely published specimens (the second is GB 11643's own example, born 1880).
KNOWN_GOOD = ["11010519491231002X", "440524188001010014"]

seventeen_digits = st.text(alphabet="0123456789", min_size=17, max_size=17)


def with_check(first17):
    return first17 + identity.check_digit(first17)


def validate(number, today=TODAY):
    return identity.validate_resident_id(number, today, PROVINCES)


def refusal(number, today=TODAY):
    with pytest.raises(InvalidDocument) as excinfo:
        validate(number, today)
    return str(excinfo.value)


# GB 11643 check digit


@pytest.mark.parametrize("number", KNOWN_GOOD)
def test_check_digit_of_known_numbers(number):
    assert identity.check_digit(number[:17]) == number[17]


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        with_check("36010219900307123"),
        with_check("36073019851231000"),
        with_check("36112720000229456"),
        with_check("65010119700101999"),
    ],
)
def test_good_numbers_validate(number):
    assert validate(number) == number


def test_check_digit_x_is_possible():
    assert identity.check_digit("11010519491231002") == "X"


@pytest.mark.parametrize("first17", ["", "1234567890123456", "1234567890123456X", "１" * 17])
def test_check_digit_needs_17_ascii_digits(first17):
    with pytest.raises(ValueError):
        identity.check_digit(first17)


def _single_mutations(number):
    for position, original in enumerate(number):
        alphabet = "0123456789X" if position == 17 else "0123456789"
        for replacement in alphabet:
            if replacement != original:
                yield number[:position] + replacement + number[position + 1 :]


@pytest.mark.parametrize("number", ["11010519491231002X", with_check("36010219900307123")])
def test_every_single_character_change_is_refused(number):
    mutations = list(_single_mutations(number))
    assert len(mutations) == 17 * 9 + 10
    for mutated in mutations:
        with pytest.raises(InvalidDocument):
            validate(mutated)


@given(first17=seventeen_digits, position=st.integers(0, 16), delta=st.integers(1, 9))
def test_mod_11_2_catches_every_single_digit_change(first17, position, delta):
    changed = str((int(first17[position]) + delta) % 10)
    mutated = first17[:position] + changed + first17[position + 1 :]
    assert identity.check_digit(mutated) != identity.check_digit(first17)


@given(first17=seventeen_digits, position=st.integers(0, 15))
def test_mod_11_2_catches_adjacent_transpositions(first17, position):
    a, b = first17[position], first17[position + 1]
    swapped = first17[:position] + b + a + first17[position + 2 :]
    if a != b:
        assert identity.check_digit(swapped) != identity.check_digit(first17)


def test_check_digit_failure_message():
    good = with_check("36010219900307123")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert refusal(wrong) == "The check digit is wrong."


# The other rules


def test_abolished_area_code_is_still_valid():
    # No county 369999 exists; only the province (36, Jiangxi) is checked.
    number = with_check("36999919800101001")
    assert validate(number) == number


def test_unknown_province_refused():
    assert refusal(with_check("99010119800101001")) == (
        "The first two digits are not a province code."
    )


def test_province_codes_come_from_the_caller():
    number = with_check("81000019800101001")
    assert refusal(number) == "The first two digits are not a province code."
    assert identity.validate_resident_id(number, TODAY, PROVINCES | {"81"}) == number


@pytest.mark.parametrize(
    "birth", ["19900230", "19900229", "19901301", "19900001", "19900100", "18890230"]
)
def test_unreal_birth_date_refused(birth):
    number = with_check("360102" + birth + "123")
    assert refusal(number) == "The birth date in the number is not a real date."


def test_earliest_birth_year_accepted():
    number = with_check("36010218000101123")
    assert validate(number) == number


def test_birth_before_the_floor_has_its_own_message():
    number = with_check("36010217991231123")
    assert refusal(number) == "The birth year in the number is before 1800."


def test_leap_day_accepted():
    number = with_check("36010220000229123")
    assert validate(number) == number


def test_future_birth_refused():
    number = with_check("36010220240602123")
    assert refusal(number) == "The birth date in the number is in the future."
    assert validate(number, today=date(2024, 6, 2)) == number


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "11010519491231002",
        "11010519491231002X0",
        "1101051949123100X2",
        "X10105194912310020",
        "11010519491231002Y",
        "110105 19491231-002X",
    ],
)
def test_wrong_shape_refused(raw):
    assert refusal(raw) == ("A resident ID number has 18 characters: 17 digits and a digit or X.")


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 11010519491231002X ",
        "110105 19491231 002X",
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_resident_id_is_normalised(raw):
    assert validate(raw) == "11010519491231002X"


def test_gb11643_example_born_1880_accepted():
    assert validate("440524188001010014") == "440524188001010014"


def test_birth_date():
    assert identity.birth_date("11010519491231002X") == date(1949, 12, 31)
    with pytest.raises(ValueError):
        identity.birth_date("110105194902300020")


# Passports and permits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("e1234 5678", "E12345678"), ("AB123", "AB123"), ("A" * 20, "A" * 20)],
)
def test_passport_ok(raw, expected):
    assert identity.validate_passport(raw) == expected


@pytest.mark.parametrize("raw", ["", "AB12", "A" * 21, "E1234-5678", "E12345678\u00e9"])
def test_passport_refused(raw):
    with pytest.raises(InvalidDocument) as excinfo:
        identity.validate_passport(raw)
    assert str(excinfo.value) == "A passport number has 5 to 20 letters and digits."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("h1234567801", "H1234567801"), ("12345678", "12345678"), ("M 1234 5678", "M12345678")],
)
def test_permit_ok(raw, expected):
    assert identity.validate_permit(raw) == expected


@pytest.mark.parametrize("raw", ["", "1234567", "H12345678901", "H1234/5678"])
def test_permit_refused(raw):
    with pytest.raises(InvalidDocument) as excinfo:
        identity.validate_permit(raw)
    assert str(excinfo.value) == "A permit number has 8 to 11 letters and digits."


def test_validate_document_dispatches():
    assert (
        identity.validate_document(identity.DOC_RESIDENT_ID, "11010519491231002x", TODAY, PROVINCES)
        == "11010519491231002X"
    )
    assert (
        identity.validate_document(identity.DOC_PASSPORT, "e12345678", TODAY, PROVINCES)
        == "E12345678"
    )
    assert (
        identity.validate_document(identity.DOC_PERMIT, "h12345678", TODAY, PROVINCES)
        == "H12345678"
    )
    # A passport-shaped number is not a resident ID.
    with pytest.raises(InvalidDocument):
        identity.validate_document(identity.DOC_RESIDENT_ID, "E12345678", TODAY, PROVINCES)
    with pytest.raises(InvalidDocument):
        identity.validate_document("driving_licence", "E12345678", TODAY, PROVINCES)


def test_document_errors_are_value_errors():
    assert issubclass(InvalidDocument, ValueError)
    assert issubclass(InvalidPhone, ValueError)


# Phone numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        (" 19912345678 ", "+8619912345678"),
        ("１３８００１３８０００", "+8613800138000"),
        ("+44 7911 123456", "+447911123456"),
        ("0044 7911 123456", "+447911123456"),
        ("+1 650-253-0000", "+16502530000"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+852 6123 4567", "+85261234567"),
        ("+86 (139) 0000 0001", "+8613900000001"),
        ("139.0000.0001", "+8613900000001"),
        ("(139) 0000-0001", "+8613900000001"),
        ("+44 7400 123456", "+447400123456"),
    ],
)
def test_normalise_phone(raw, expected):
    assert identity.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "12800138000",
        "1380013800",
        "138001380001",
        "23800138000",
        "7911 123456",
        "phone",
        # Prefixes with no mobile range, which a 1[3-9] pattern let through.
        "14012345678",
        "14112345678",
        "14412345678",
        "14612345678",
        "14812345678",
        "14912345678",
        "15412345678",
        "16012345678",
    ],
)
def test_phone_without_plus_refused(raw):
    with pytest.raises(InvalidPhone) as excinfo:
        identity.normalise_phone(raw)
    assert str(excinfo.value) == (
        "Enter an 11-digit mainland mobile number, or an international number starting with +."
    )


@pytest.mark.parametrize("raw", ["+86 12345", "+86 10 6552 9988", "+8612800138000"])
def test_mainland_number_must_be_a_mobile(raw):
    with pytest.raises(InvalidPhone):
        identity.normalise_phone(raw)


def test_landline_refused_however_written():
    for raw in ["+86 10 6552 9988", "+44 20 7946 0958", "+33 1 42 68 53 00"]:
        with pytest.raises(InvalidPhone) as excinfo:
            identity.normalise_phone(raw)
        assert str(excinfo.value) == "This is not a mobile number: the reset codes come by SMS."


def test_ofcom_drama_number_refused():
    with pytest.raises(InvalidPhone):
        identity.normalise_phone("+44 7700 900123")


@pytest.mark.parametrize(
    "raw", ["+44 12", "+999 1234 5678", "+1 650-253-0000 ext. 12", "+", "+abc"]
)
def test_invalid_international_number_refused(raw):
    with pytest.raises(InvalidPhone) as excinfo:
        identity.normalise_phone(raw)
    assert str(excinfo.value) == "This is not a valid phone number."


# Masking


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张小三", "张*三"),
        ("欧阳小明", "欧**明"),
        ("王", "王"),
        ("", ""),
        (" 李四 ", "李*"),
        ("John Smith", "J*** S****"),
        ("Anna  Maria Lee", "A*** M**** L**"),
        ("Madonna", "M*****a"),
    ],
)
def test_mask_name(name, masked):
    assert identity.mask_name(name) == masked


def test_document_tail():
    assert identity.document_tail("11010519491231002X") == "002X"
    assert identity.document_tail("****1234") == "1234"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("360102199003071234", "360***********1234"),
        ("E12345678", "*****5678"),
        ("H1234567801", "*******7801"),
        ("AB123", "***23"),
        ("ABC", "***"),
    ],
)
def test_mask_document(number, masked):
    assert identity.mask_document(number) == masked


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=20))
def test_mask_document_shows_at_most_half(number):
    masked = identity.mask_document(number)
    assert len(masked) == len(number)
    assert sum(char != "*" for char in masked) * 2 <= len(number)


# Legal names: letters of any script as the identity document prints them.


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("张三", "张三"),
        ("欧阳 娜娜", "欧阳 娜娜"),
        ("买买提·艾力", "买买提·艾力"),  # U+00B7, the usual dot in minority names
        ("买买提•艾力", "买买提•艾力"),  # U+2022, as many phones type it
        ("アンナ・スミス", "アンナ・スミス"),  # U+30FB, the katakana middle dot
        ("ئابدۇرېھىم ئەھمەت", "ئابدۇرېھىم ئەھمەت"),  # Uyghur, Arabic script
        ("José Müller-Lüdenscheidt", "José Müller-Lüdenscheidt"),
        ("Seán O'Brien", "Seán O'Brien"),
        ("Seán O’Brien", "Seán O’Brien"),  # the typographic apostrophe
        ("Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),
        ("देवनागरी नाम", "देवनागरी नाम"),  # Devanagari needs its combining vowel signs (Mc, Mn)
        ("  John   Smith ", "John Smith"),  # spaces collapsed, as on the document
        ("Jose\u0301", "José"),  # a decomposed accent is composed (NFC)
        ("ＪＯＨＮ", "ＪＯＨＮ"),  # full-width letters are letters
        ("欧阳\u3000娜娜", "欧阳 娜娜"),  # the ideographic space of Chinese input methods
    ],
)
def test_legal_names_of_any_script_pass(typed, kept):
    assert identity.normalise_legal_name(typed) == kept


@pytest.mark.parametrize(
    "typed",
    [
        "😀😀",
        "张三😀",
        "John2",
        "张三３",  # a full-width digit
        "John$",
        "A+B",
        "Smith\x00",
        "Smith\u200b",  # a zero-width space
        "John\tSmith",  # a control character, not a space
        "·-'",  # no letter at all
        "©",
        "John_Smith",
    ],
)
def test_digits_emoji_symbols_and_control_characters_are_refused(typed):
    with pytest.raises(identity.InvalidName) as refused:
        identity.normalise_legal_name(typed)
    assert str(refused.value) == identity.MSG_NAME_CHARACTERS
