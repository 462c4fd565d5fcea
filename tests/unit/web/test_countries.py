"""Countries sorted by pinyin in Chinese, the commonest first, and Taiwan,
Hong Kong and Macao named as a PRC government service names them."""

from __future__ import annotations

import pytest
from pypinyin import Style, lazy_pinyin

from gantong.web.labels import COMMONEST_COUNTRIES, countries

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb


def test_the_commonest_come_first_in_both_languages():
    for language in ("zh", "en"):
        codes = [code for code, _name in countries(language)]
        assert tuple(codes[: len(COMMONEST_COUNTRIES)]) == COMMONEST_COUNTRIES
        assert codes[:4] == ["CN", "HK", "MO", "TW"]
        assert len(codes) == len(set(codes))


def test_chinese_names_are_sorted_by_pinyin_not_by_code_point():
    rest = [name for _code, name in countries("zh")[len(COMMONEST_COUNTRIES) :]]
    keys = [" ".join(lazy_pinyin(name, style=Style.TONE3)) for name in rest]
    assert keys == sorted(keys)
    # Code-point order put 不丹 and 东帝汶 near the top; pinyin puts the A's first.
    assert rest[0].startswith("阿")
    assert rest.index("不丹") < rest.index("东帝汶") < rest.index("法属圭亚那") < rest.index("越南")


def test_taiwan_hong_kong_and_macao_are_named_as_parts_of_china():
    zh = dict(countries("zh"))
    assert (zh["TW"], zh["HK"], zh["MO"]) == ("中国台湾", "中国香港", "中国澳门")
    en = dict(countries("en"))
    assert (en["TW"], en["HK"], en["MO"]) == ("Taiwan, China", "Hong Kong, China", "Macao, China")


def test_english_names_sort_accented_letters_with_their_base_letter():
    rest = [name for _code, name in countries("en")[len(COMMONEST_COUNTRIES) :]]
    assert rest.index("Afghanistan") < rest.index("Åland Islands") < rest.index("Albania")
    assert rest.index("Costa Rica") < rest.index("Côte d’Ivoire") < rest.index("Croatia")
