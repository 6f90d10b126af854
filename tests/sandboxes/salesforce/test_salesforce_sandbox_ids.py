"""Record ids: the case-safe suffix, 15/18-character equivalence, and the ids the org mints."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.sandboxes.salesforce.ids import IdMint, id18, normalize_id

ID15 = st.text(alphabet=string.ascii_letters + string.digits, min_size=15, max_size=15)


@pytest.mark.parametrize(("id15", "expected"), [
    ("0036000000QKv5T", "0036000000QKv5TAAT"),  # Salesforce's LongSfid example
    ("00558000001N0Ke", "00558000001N0KeAAK"),
    ("70130000001tcyI", "70130000001tcyIAAQ"),
    ("001Dn0000000001", "001Dn0000000001IAA"),
    ("ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"),
])
def test_the_suffix_spells_the_capitals_of_each_chunk(id15: str, expected: str) -> None:
    assert id18(id15) == expected


def test_fifteen_and_eighteen_characters_name_the_same_record() -> None:
    assert normalize_id("0036000000QKv5T") == normalize_id("0036000000QKv5TAAT") == "0036000000QKv5TAAT"
    assert normalize_id("0036000000qkv5taat") == "0036000000QKv5TAAT"  # case restored from the suffix
    assert normalize_id("0036000000QKv5t") == "0036000000QKv5tAAD"  # 15 characters are case-sensitive


@pytest.mark.parametrize("bad", ["", "nope", "0036000000QKv5", "0036000000QKv5TAA", "0036000000QKv5T-AT",
                                 "0036000000QKv5T!AT", "0036000000Q9v5TAAT", "0036000000QKv5TAA9"])
def test_what_is_not_an_id(bad: str) -> None:
    assert normalize_id(bad) is None


@given(ID15)
def test_any_case_of_an_eighteen_character_id_names_it(id15: str) -> None:
    full = id18(id15)
    assert normalize_id(full.lower()) == normalize_id(full.upper()) == normalize_id(id15) == full


def test_the_mint_numbers_every_id_in_one_sequence() -> None:
    mint = IdMint()
    account, opportunity = mint.new("001"), mint.new("006")
    assert (account, opportunity) == ("001Dn0000000001IAA", "006Dn0000000002IAA")
