"""Entity-tags as the file responses compare them (RFC 9110 §8.8.3.2, §13.1.5)."""

from aiohttp.helpers import ETag

from shared.fileresponse import etag_matches, header_value, if_range_names, parse_entity_tag

STRONG = ETag(value="abc")
WEAK = ETag(value="abc", is_weak=True)


def test_header_value_and_parse_are_inverse() -> None:
    for tag in (STRONG, WEAK, ETag(value="")):
        assert parse_entity_tag(header_value(tag)) == tag
    assert header_value(STRONG) == '"abc"' and header_value(WEAK) == 'W/"abc"'
    for junk in ("", "abc", '"abc', "W/abc", "W/", '"'):
        assert parse_entity_tag(junk) is None


def test_if_none_match_compares_weakly_and_if_match_strongly() -> None:
    assert etag_matches((WEAK,), STRONG, weak=True) and etag_matches((STRONG,), WEAK, weak=True)
    assert not etag_matches((ETag(value="other"),), STRONG, weak=True)
    assert etag_matches((STRONG,), STRONG, weak=False)
    assert not etag_matches((WEAK,), STRONG, weak=False)
    assert not etag_matches((STRONG,), WEAK, weak=False)  # a weak tag never matches strongly
    assert etag_matches((ETag(value="*"),), WEAK, weak=False)  # `*`: any current representation


def test_if_range_holds_only_for_the_strong_tag() -> None:
    assert if_range_names('"abc"', STRONG) and if_range_names(' "abc" ', STRONG)
    assert not if_range_names('W/"abc"', STRONG)
    assert not if_range_names('W/"abc"', WEAK) and not if_range_names('"abc"', WEAK)
    assert not if_range_names('"abc"', None)
