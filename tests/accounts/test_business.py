"""Categories, countries and regions: the country list is ISO's, and every country has exactly one region."""

from __future__ import annotations

from server.accounts.business import (
    _M49,
    CATEGORIES,
    DEFAULT_CATEGORY,
    REGION_OF_COUNTRY,
    REGIONS,
    countries,
    is_country,
    region_of,
)


def test_the_countries_are_the_249_codes_iso_3166_1_assigns():
    codes = countries()
    assert len(codes) == 249
    assert {"US", "DE", "JP", "BR", "NG", "AU", "AQ", "TW"} <= set(codes)
    assert not {"ZZ", "EU", "XK", "UN", "AC", "QO", "001"} & set(codes)
    assert codes["DE"] == "Germany"
    assert not is_country("ZZ") and is_country("FR")


def test_every_country_is_in_exactly_one_region():
    listed = [code for groups in _M49.values() for group in groups for code in group.split()]
    assert len(listed) == len(set(listed)), "a country listed twice"
    assert set(REGION_OF_COUNTRY) == set(countries())
    assert set(REGION_OF_COUNTRY.values()) == set(REGIONS)


def test_regions_follow_m49():
    assert [region_of(c) for c in ("US", "CA", "MX", "BR", "DE", "GB", "TR", "IN", "NZ", "ZA", "ZZ")] == [
        "north_america", "north_america", "latin_america", "latin_america", "europe", "europe", "asia", "asia",
        "oceania", "africa", None]


def test_categories_are_a_fixed_list_with_labels():
    assert DEFAULT_CATEGORY in CATEGORIES
    assert all(label and "MCC" in band for label, band in CATEGORIES.values())
