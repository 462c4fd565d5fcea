"""China's administrative divisions (NBS codes, 2023), held in memory: they change yearly at most."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pypinyin import Style, lazy_pinyin

JIANGXI = "36"

# Polyphonic characters that pypinyin reads the everyday way in place names.
PINYIN_OVERRIDES = {
    "都昌": "Duchang",
    "六安": "Lu'an",
    "长治": "Changzhi",
    "朝阳": "Chaoyang",
    "吕梁": "Lüliang",
    "单县": "Shan County",
    "莘县": "Shen County",
    "蔚县": "Yu County",
    "乐清": "Yueqing",
    "洪洞": "Hongtong",
    "铅山": "Yanshan",
    "陕西": "Shaanxi",
    "内蒙古": "Inner Mongolia",
    "西藏": "Tibet",
    "香港": "Hong Kong",
    "澳门": "Macao",
}

# Longest suffix first, so that 自治区 wins over 区.
SUFFIXES = (
    ("特别行政区", " SAR"),
    ("维吾尔自治区", ""),
    ("壮族自治区", ""),
    ("回族自治区", ""),
    ("自治区", ""),
    ("自治州", " Autonomous Prefecture"),
    ("自治县", " Autonomous County"),
    ("自治旗", " Autonomous Banner"),
    ("地区", " Prefecture"),
    ("林区", " Forestry District"),
    ("新区", " New Area"),
    ("省", ""),
    ("市", ""),
    ("区", " District"),
    ("县", " County"),
    ("盟", " League"),
    ("旗", " Banner"),
)

# NBS lists municipalities' counties under placeholder "cities"; show the province instead.
PLACEHOLDER_CITIES = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    parent: str | None

    @property
    def level(self) -> int:
        return {2: 1, 4: 2, 6: 3}[len(self.code)]


def _split_suffix(name: str) -> tuple[str, str]:
    """Split 东湖区 into (东湖, " District"); a two-character core at least (城区 stays whole)."""
    for suffix, english in SUFFIXES:
        core = name[: -len(suffix)]
        if name.endswith(suffix) and len(core) >= 2:
            return core, english
    return name, ""


def english_name(name: str) -> str:
    """Return a pinyin name for the English UI: 东湖区 -> Donghu District."""
    core, english = _split_suffix(name)
    if core in PINYIN_OVERRIDES:
        spoken = PINYIN_OVERRIDES[core]
        return spoken if " " in spoken else spoken + english
    return "".join(lazy_pinyin(core, style=Style.NORMAL)).capitalize() + english


def _rows(filename: str):
    source = resources.files("gantong.core") / "data" / "divisions" / filename
    with source.open(encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


@lru_cache(maxsize=1)
def all_divisions() -> dict[str, Division]:
    """Return every province, city and county-level division by code."""
    divisions: dict[str, Division] = {}
    for row in _rows("provinces.csv"):
        divisions[row["code"]] = Division(row["code"], row["name"], None)
    for row in _rows("cities.csv"):
        divisions[row["code"]] = Division(row["code"], row["name"], row["provinceCode"])
    for row in _rows("areas.csv"):
        divisions[row["code"]] = Division(row["code"], row["name"], row["cityCode"])
    return divisions


@lru_cache(maxsize=1)
def province_codes() -> frozenset[str]:
    return frozenset(code for code in all_divisions() if len(code) == 2)


def get(code: str) -> Division | None:
    return all_divisions().get(code)


def local_name(division: Division, locale: str) -> str:
    """Return the division's own name in the UI language."""
    return division.name if locale.startswith("zh") else _english(division.name)


@lru_cache(maxsize=4096)
def _english(name: str) -> str:
    return english_name(name)


def display_name(code: str, locale: str = "zh") -> str:
    """Return a name that says where a code is: 南昌市东湖区, Donghu District, Nanchang."""
    division = get(code)
    if division is None:
        return code
    chain = [division]
    while chain[-1].parent:
        parent = get(chain[-1].parent)
        if parent is None or parent.name in PLACEHOLDER_CITIES:
            if parent is not None and parent.parent:
                chain.append(get(parent.parent))
            break
        chain.append(parent)
    # County: name + city; city: name + province; province: itself.
    shown = chain[:2]
    if locale.startswith("zh"):
        return "".join(d.name for d in reversed(shown))
    return ", ".join(local_name(d, locale) for d in shown)


@lru_cache(maxsize=1)
def jiangxi_district_codes() -> tuple[str, ...]:
    """Return the codes of Jiangxi's county-level districts: the residence choices."""
    return tuple(code for code in all_divisions() if len(code) == 6 and code.startswith(JIANGXI))


def district_choices(locale: str) -> list[tuple[str, str]]:
    """Return (code, label) for Jiangxi's 100 districts, grouped by city in code order."""
    return [(code, display_name(code, locale)) for code in jiangxi_district_codes()]


def travel_choices(locale: str) -> list[tuple[str, str]]:
    """Return every province and prefecture-level city as a travel-history choice."""
    choices = []
    for code, division in all_divisions().items():
        if len(code) == 2:
            choices.append((code, local_name(division, locale)))
        elif len(code) == 4 and division.name not in PLACEHOLDER_CITIES:
            choices.append((code, display_name(code, locale)))
    return sorted(choices, key=lambda choice: choice[0])


@lru_cache(maxsize=1)
def _children() -> dict[str, tuple[str, ...]]:
    """Each province's cities and each city's counties, in code order.

    A municipality's placeholder "city" (市辖区, 县, 省直辖县级行政区划 ...) is skipped: its
    counties are listed as the province's own, as people name them (北京市东城区).
    """
    children: dict[str, list[str]] = {}
    for code, division in sorted(all_divisions().items()):
        if division.parent is None:
            continue
        parent = get(division.parent)
        if parent is not None and parent.name in PLACEHOLDER_CITIES:
            children.setdefault(parent.parent, []).append(code)
        elif division.name not in PLACEHOLDER_CITIES:
            children.setdefault(division.parent, []).append(code)
    return {code: tuple(items) for code, items in children.items()}


def province_choices(locale: str) -> list[tuple[str, str]]:
    """Return (code, name) for every province-level division, in code order."""
    return [
        (code, local_name(division, locale))
        for code, division in sorted(all_divisions().items())
        if len(code) == 2
    ]


def child_choices(code: str, locale: str) -> list[tuple[str, str]]:
    """Return (code, name) for the divisions one level below `code` (a province's cities, a
    municipality's districts, a city's counties); [] for a county or an unknown code."""
    return [(child, local_name(get(child), locale)) for child in _children().get(code, ())]


def place_path(code: str) -> tuple[str, str, str]:
    """Split a travel place into what the three pickers show: (province, city, county).

    A municipality's district is the 'city' level (no county step): 110101 -> ("11", "110101", "").
    """
    division = get(code)
    if division is None:
        return "", "", ""
    province = code[:2]
    if len(code) == 2:
        return province, "", ""
    if len(code) == 4:
        return province, code, ""
    city = get(code[:4])
    if city is None or city.name in PLACEHOLDER_CITIES:
        return province, code, ""
    return province, code[:4], code
