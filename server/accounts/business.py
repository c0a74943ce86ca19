"""What kind of business an account is, and where: its category, its country and the region derived from it.

A leaf module (it imports nothing of the app): account settings validate against it and seller
benchmarks group sellers by (category, region) with it.

**Categories** are a fixed list, each a band of card-network merchant category codes (MCC), so a
seller picks the line its acquirer would have given it. `general` is the default and the
fallback for everything the list does not name.

**Countries** are the ISO 3166-1 alpha-2 codes, from CLDR's territory data as Babel ships it:
every two-letter territory CLDR names, less the codes CLDR uses that ISO 3166-1 does not assign
to a country (`NOT_ISO`: the European Union and Eurozone, the United Nations, Kosovo's
user-assigned XK, the unknown region ZZ, and the exceptionally reserved AC, CP, DG, EA, IC, TA,
CQ, QO, XA, XB). That is the 249 codes ISO assigns.

**Regions** are the UN M.49 geographic regions (the UN Statistics Division's "standard country or
area codes for statistical use"), with the Americas split the way M.49 itself splits them into
Northern America and Latin America and the Caribbean. Two placements are ours: Antarctica (AQ),
which M.49 puts in no region, is in Oceania; Taiwan (TW), which M.49 does not list, is in Asia.
`tests/accounts/test_business.py` holds the map to the country list: every country in exactly one
region.
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType

from babel import Locale

# code -> (label, the MCC band it stands for)
CATEGORIES: MappingProxyType[str, tuple[str, str]] = MappingProxyType({
    "retail": ("Retail", "MCC 5200–5399, 5600–5999: shops selling goods"),
    "grocery": ("Grocery and food stores", "MCC 5400–5499"),
    "food_and_drink": ("Restaurants and bars", "MCC 5811–5814"),
    "digital_goods": ("Digital goods and media", "MCC 5815–5818"),
    "software": ("Software and SaaS", "MCC 5734, 7372"),
    "travel": ("Travel and lodging", "MCC 3000–3999, 4511, 4722, 7011"),
    "transportation": ("Transportation", "MCC 4111–4789 except 4511"),
    "entertainment": ("Entertainment and events", "MCC 7829–7999"),
    "education": ("Education", "MCC 8211–8299"),
    "health": ("Health and wellness", "MCC 8011–8099"),
    "professional_services": ("Professional services", "MCC 7311–7399, 8111–8999"),
    "home_services": ("Home and personal services", "MCC 1520–1799, 7210–7299"),
    "nonprofit": ("Charities and nonprofits", "MCC 8398, 8641, 8651, 8661"),
    "general": ("Other", "every other MCC"),
})
DEFAULT_CATEGORY = "general"

REGIONS: MappingProxyType[str, str] = MappingProxyType({
    "north_america": "North America",
    "latin_america": "Latin America and the Caribbean",
    "europe": "Europe",
    "africa": "Africa",
    "asia": "Asia",
    "oceania": "Oceania",
})
GLOBAL = "global"  # the fallback cohort of a category: the regions too small on their own

# UN M.49 sub-regions, by region, written as the codes they hold.
_M49 = {
    "africa": (
        "DZ EG LY MA SD TN EH",  # Northern Africa
        "IO BI KM DJ ER ET TF KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW",  # Eastern Africa
        "AO CM CF TD CG CD GQ GA ST",  # Middle Africa
        "BW SZ LS NA ZA",  # Southern Africa
        "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG",  # Western Africa
    ),
    "north_america": ("BM CA GL PM US",),  # Northern America
    "latin_america": (
        "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI",  # Caribbean
        "BZ CR SV GT HN MX NI PA",  # Central America
        "AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE",  # South America
    ),
    "asia": (
        "KZ KG TJ TM UZ",  # Central Asia
        "CN HK MO KP JP MN KR TW",  # Eastern Asia (TW: ours)
        "BN KH ID LA MY MM PH SG TH TL VN",  # South-eastern Asia
        "AF BD BT IN IR MV NP PK LK",  # Southern Asia
        "AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE",  # Western Asia
    ),
    "europe": (
        "BY BG CZ HU PL MD RO RU SK UA",  # Eastern Europe
        "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB",  # Northern Europe
        "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES",  # Southern Europe
        "AT BE FR DE LI LU MC NL CH",  # Western Europe
    ),
    "oceania": (
        "AU CX CC HM NZ NF",  # Australia and New Zealand
        "FJ NC PG SB VU",  # Melanesia
        "GU KI MH FM NR MP PW UM",  # Micronesia
        "AS CK PF NU PN WS TK TO TV WF",  # Polynesia
        "AQ",  # Antarctica: in no M.49 region; ours
    ),
}
REGION_OF_COUNTRY: MappingProxyType[str, str] = MappingProxyType(
    {code: region for region, groups in _M49.items() for group in groups for code in group.split()})

# Two-letter codes CLDR names that ISO 3166-1 does not assign to a country.
NOT_ISO = frozenset("AC CP CQ DG EA EU EZ IC QO TA UN XA XB XK ZZ".split())


@cache
def countries() -> MappingProxyType[str, str]:
    """ISO 3166-1 alpha-2 code -> English name, from Babel's CLDR data."""
    names = Locale("en").territories
    return MappingProxyType({code: names[code] for code in sorted(names)
                             if len(code) == 2 and code.isalpha() and code not in NOT_ISO})


def is_country(code: str) -> bool:
    return code in countries()


def region_of(country: str) -> str | None:
    """The account's region; None for a country that is not (or no longer) an ISO code."""
    return REGION_OF_COUNTRY.get(country)


def normal_category(category: str) -> str:
    """The category, or the default for a value from before the list was fixed."""
    return category if category in CATEGORIES else DEFAULT_CATEGORY


def category_label(category: str) -> str:
    return CATEGORIES[normal_category(category)][0]


def region_label(region: str | None) -> str:
    if region == GLOBAL:
        return "Global (regions too small for a cohort of their own)"
    return REGIONS.get(region or "", "no region")
