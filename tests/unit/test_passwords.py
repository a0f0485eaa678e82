import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidParameterException
from ledger.passwords import PUNCTUATION, generate_password

EVERY_CHARACTER = string.ascii_letters + string.digits + PUNCTUATION + " "


def test_default_password_is_32_characters():
    assert len(generate_password({}, random.Random(1))) == 32


def test_default_uses_the_documented_punctuation_set():
    assert PUNCTUATION == "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def test_default_password_has_no_space():
    password = generate_password({"PasswordLength": 4096}, random.Random(2))
    assert " " not in password


def test_each_included_type_is_present():
    for seed in range(200):
        password = generate_password({"PasswordLength": 5, "IncludeSpace": True},
                                     random.Random(seed))
        assert any(c in string.ascii_lowercase for c in password)
        assert any(c in string.ascii_uppercase for c in password)
        assert any(c in string.digits for c in password)
        assert any(c in PUNCTUATION for c in password)
        assert " " in password


def test_required_characters_are_not_always_in_front():
    starts = {generate_password({"PasswordLength": 4}, random.Random(seed))[0] in
              string.ascii_lowercase for seed in range(50)}
    assert starts == {True, False}


def test_exclude_flags_remove_their_classes():
    password = generate_password(
        {"PasswordLength": 500, "ExcludeUppercase": True, "ExcludeNumbers": True,
         "ExcludePunctuation": True}, random.Random(3))
    assert set(password) <= set(string.ascii_lowercase)


def test_excluding_every_character_of_a_class_drops_the_class():
    request = {"PasswordLength": 3, "ExcludeCharacters": string.digits}
    password = generate_password(request, random.Random(4))
    assert len(password) == 3
    assert not set(password) & set(string.digits)


def test_without_require_each_type_one_character_is_enough():
    request = {"PasswordLength": 1, "RequireEachIncludedType": False}
    assert len(generate_password(request, random.Random(5))) == 1


def test_length_below_required_types_is_invalid_parameter():
    with pytest.raises(InvalidParameterException, match="PasswordLength 3"):
        generate_password({"PasswordLength": 3}, random.Random(6))


def test_everything_excluded_is_invalid_parameter():
    request = {"ExcludeLowercase": True, "ExcludeUppercase": True, "ExcludeNumbers": True,
               "ExcludePunctuation": True}
    with pytest.raises(InvalidParameterException, match="no characters"):
        generate_password(request, random.Random(7))


def test_excluding_every_character_by_name_is_invalid_parameter():
    request = {"ExcludeCharacters": EVERY_CHARACTER, "IncludeSpace": True}
    with pytest.raises(InvalidParameterException, match="no characters"):
        generate_password(request, random.Random(8))


@pytest.mark.parametrize("length", [0, 4097, "12", True])
def test_out_of_range_length_is_invalid_parameter(length):
    with pytest.raises(InvalidParameterException, match="PasswordLength"):
        generate_password({"PasswordLength": length}, random.Random(9))


def test_same_seed_gives_same_password():
    request = {"PasswordLength": 40, "IncludeSpace": True}
    assert generate_password(request, random.Random(10)) == generate_password(
        request, random.Random(10))


def test_default_rng_gives_different_passwords():
    assert generate_password({}) != generate_password({})


@given(excluded=st.sets(st.sampled_from(EVERY_CHARACTER)),
       length=st.integers(min_value=5, max_value=64),
       include_space=st.booleans(),
       rng=st.randoms(use_true_random=False))
def test_excluded_characters_never_appear(excluded, length, include_space, rng):
    request = {"PasswordLength": length, "ExcludeCharacters": "".join(excluded),
               "IncludeSpace": include_space}
    allowed = set(EVERY_CHARACTER if include_space else EVERY_CHARACTER[:-1]) - excluded
    if not allowed:
        with pytest.raises(InvalidParameterException):
            generate_password(request, rng)
        return
    password = generate_password(request, rng)
    assert len(password) == length
    assert set(password) <= allowed
