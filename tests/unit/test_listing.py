import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidNextTokenException, InvalidParameterException
from ledger.listing import (
    filter_entries,
    matches_filters,
    paginate,
    request_fingerprint,
    sort_entries,
)


def entry(name, description=None, tags=None, created=0.0, **extra):
    e = {"ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
         "Name": name, "CreatedDate": created,
         "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
    if description is not None:
        e["Description"] = description
    e.update(extra)
    return e


def names(entries):
    return [e["Name"] for e in entries]


PROD_DB = entry("prod/db", "Primary Database credentials", {"env": "prod", "team": "payments"},
                PrimaryRegion="us-east-1")
DEV_DB = entry("dev/db", "Dev database", {"env": "dev"}, PrimaryRegion="eu-west-1")
RDS = entry("rds!cluster-1", "Managed by RDS", OwningService="rds")
SECRETS = [PROD_DB, DEV_DB, RDS]


def select(*filters):
    return names(filter_entries(SECRETS, [{"Key": k, "Values": v} for k, v in filters]))


# --- filters ---

def test_name_filter_is_case_sensitive_prefix():
    assert select(("name", ["prod"])) == ["prod/db"]
    assert select(("name", ["Prod"])) == []
    assert select(("name", ["db"])) == []


def test_description_filter_ignores_case():
    assert select(("description", ["primary data"])) == ["prod/db"]
    assert select(("description", ["DEV"])) == ["dev/db"]


def test_description_filter_needs_a_description():
    assert not matches_filters(entry("plain"), [{"Key": "description", "Values": [""]}])


def test_tag_key_and_value_filters_are_case_sensitive_prefixes():
    assert select(("tag-key", ["te"])) == ["prod/db"]
    assert select(("tag-value", ["pro"])) == ["prod/db"]
    assert select(("tag-value", ["Pro"])) == []


def test_region_and_owning_service_filters_are_prefixes():
    assert select(("primary-region", ["eu-"])) == ["dev/db"]
    assert select(("owning-service", ["rd"])) == ["rds!cluster-1"]
    assert select(("owning-service", ["RDS"])) == []


def test_negated_tag_key_excludes_tagged_secrets():
    assert select(("tag-key", ["!team"])) == ["dev/db", "rds!cluster-1"]
    assert select(("tag-key", ["!env"])) == ["rds!cluster-1"]


def test_negated_name_excludes_by_prefix():
    assert select(("name", ["!prod"])) == ["dev/db", "rds!cluster-1"]


def test_values_within_a_filter_are_ored():
    assert select(("name", ["prod", "dev"])) == ["prod/db", "dev/db"]


def test_filters_are_anded():
    assert select(("name", ["prod", "dev"]), ("tag-value", ["dev"])) == ["dev/db"]


def test_negated_value_wins_over_a_matching_plain_value():
    assert select(("tag-value", ["prod", "dev", "!pay"])) == ["dev/db"]


def test_only_negated_values_keep_everything_else():
    assert select(("name", ["!prod", "!dev"])) == ["rds!cluster-1"]


def test_all_filter_matches_any_attribute():
    assert select(("all", ["payments"])) == ["prod/db"]      # tag value
    assert select(("all", ["TEAM"])) == ["prod/db"]          # tag key, any case
    assert select(("all", ["cluster"])) == ["rds!cluster-1"]  # a word inside the name
    assert select(("all", ["managed"])) == ["rds!cluster-1"]  # description
    assert select(("all", ["eu"])) == ["dev/db"]             # primary region
    assert select(("all", ["rds"])) == ["rds!cluster-1"]     # name, description, owning service


def test_all_filter_needs_every_word():
    assert select(("all", ["database prod"])) == ["prod/db"]
    assert select(("all", ["database staging"])) == []


def test_all_filter_splits_camel_case_and_punctuation():
    assert select(("all", ["primaryDatabase#pay"])) == ["prod/db"]


def test_all_filter_matches_whole_camel_case_words():
    secret = entry("MyDatabaseSecret")
    assert matches_filters(secret, [{"Key": "all", "Values": ["mydata"]}])
    assert matches_filters(secret, [{"Key": "all", "Values": ["secret"]}])


def test_negated_all_filter_excludes_matches():
    assert select(("all", ["!database"])) == ["rds!cluster-1"]


def test_no_filters_keep_everything():
    assert names(filter_entries(SECRETS, None)) == ["prod/db", "dev/db", "rds!cluster-1"]


def test_unknown_filter_key_is_invalid_parameter():
    with pytest.raises(InvalidParameterException, match="filter key"):
        matches_filters(PROD_DB, [{"Key": "arn", "Values": ["x"]}])


def test_unknown_filter_key_is_refused_even_with_nothing_to_filter():
    with pytest.raises(InvalidParameterException):
        filter_entries([], [{"Key": "Name", "Values": ["x"]}])


def test_filter_without_values_is_invalid_parameter():
    with pytest.raises(InvalidParameterException):
        filter_entries(SECRETS, [{"Key": "name", "Values": []}])


# --- sorting ---

def test_default_sort_is_created_date_ascending():
    entries = [entry("b", created=3.0), entry("a", created=1.0), entry("c", created=2.0)]
    assert names(sort_entries(entries, None, None)) == ["a", "c", "b"]


def test_sort_by_name_desc():
    entries = [entry("b"), entry("a"), entry("c")]
    assert names(sort_entries(entries, "name", "desc")) == ["c", "b", "a"]


def test_name_sort_is_case_sensitive():
    assert names(sort_entries([entry("b"), entry("B"), entry("a")], "name", "asc")) == [
        "B", "a", "b"]


def test_entries_missing_the_sort_field_come_last_in_either_order():
    entries = [entry("never"), entry("old", LastAccessedDate=1.0),
               entry("new", LastAccessedDate=2.0)]
    assert names(sort_entries(entries, "last-accessed-date", "asc")) == ["old", "new", "never"]
    assert names(sort_entries(entries, "last-accessed-date", "desc")) == ["new", "old", "never"]


def test_ties_break_on_arn_in_either_order():
    entries = [entry("z", LastChangedDate=5.0), entry("m", LastChangedDate=5.0),
               entry("a", LastChangedDate=1.0)]
    assert names(sort_entries(entries, "last-changed-date", "asc")) == ["a", "m", "z"]
    assert names(sort_entries(entries, "last-changed-date", "desc")) == ["m", "z", "a"]


def test_unknown_sort_key_or_order_is_invalid_parameter():
    with pytest.raises(InvalidParameterException):
        sort_entries([], "size", None)
    with pytest.raises(InvalidParameterException):
        sort_entries([], None, "up")


# --- paging ---

REQUEST = {"Filters": [{"Key": "name", "Values": ["prod"]}], "SortBy": "name"}
FINGERPRINT = request_fingerprint(REQUEST)


@given(count=st.integers(min_value=0, max_value=60), size=st.integers(min_value=1, max_value=25))
def test_paging_covers_every_entry_once(count, size):
    items = list(range(count))
    seen, token, pages = [], None, 0
    while True:
        page, token = paginate(items, size, token, FINGERPRINT)
        seen += page
        pages += 1
        assert len(page) <= size
        if token is None:
            break
    assert seen == items
    assert pages == max(1, -(-count // size))


def test_last_page_has_no_token():
    page, token = paginate([1, 2, 3], 3, None, FINGERPRINT)
    assert (page, token) == ([1, 2, 3], None)


def test_default_page_size_applies_without_max_results():
    page, token = paginate(list(range(150)), None, None, FINGERPRINT)
    assert len(page) == 100 and token is not None
    page, token = paginate(list(range(150)), None, None, FINGERPRINT, default_max=20)
    assert len(page) == 20


def test_token_is_urlsafe_and_opaque_json():
    _, token = paginate(list(range(10)), 4, None, FINGERPRINT)
    assert json.loads(base64.urlsafe_b64decode(token)) == {"offset": 4, "query": FINGERPRINT}


def test_token_from_other_query_is_rejected():
    _, token = paginate(list(range(10)), 4, None, FINGERPRINT)
    other = request_fingerprint({**REQUEST, "SortOrder": "desc"})
    with pytest.raises(InvalidNextTokenException, match="The NextToken value is invalid."):
        paginate(list(range(10)), 4, token, other)


@pytest.mark.parametrize("token", [
    "not a token", "%%%", base64.urlsafe_b64encode(b"[1, 2]").decode(),
    base64.urlsafe_b64encode(b'{"offset": -1, "query": "x"}').decode(),
    base64.urlsafe_b64encode(b'{"offset": "4"}').decode(),
    base64.urlsafe_b64encode(b"[" * 3000).decode(), "A" * 5000,
])
def test_garbled_token_is_rejected(token):
    with pytest.raises(InvalidNextTokenException, match="The NextToken value is invalid."):
        paginate(list(range(10)), 4, token, FINGERPRINT)


def test_offset_past_the_end_gives_an_empty_last_page():
    _, token = paginate(list(range(10)), 8, None, FINGERPRINT)
    assert paginate([1, 2], 8, token, FINGERPRINT) == ([], None)


def test_non_positive_max_results_is_invalid_parameter():
    with pytest.raises(InvalidParameterException):
        paginate([1], 0, None, FINGERPRINT)


def test_fingerprint_ignores_paging_members_and_key_order():
    reordered = {"SortBy": "name", "Filters": REQUEST["Filters"], "MaxResults": 5,
                 "NextToken": "abc", "SortOrder": None}
    assert request_fingerprint(reordered) == FINGERPRINT


def test_fingerprint_changes_with_filters():
    other = {**REQUEST, "Filters": [{"Key": "name", "Values": ["dev"]}]}
    assert request_fingerprint(other) != FINGERPRINT
