"""GSM-7 / UCS-2 analysis, segment counting and splitting."""

from __future__ import annotations

import pytest

from gateway.keywords.sms import GSM_BASIC, GSM_EXTENSION, REPLACEMENTS, analyse, replace_smart, split_parts

ALL_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def test_basic_table_is_the_127_printable_gsm_characters() -> None:
    assert len(GSM_BASIC) == 127  # 128 codes less the escape
    assert set(ALL_BASIC) == GSM_BASIC
    assert GSM_EXTENSION == set("\f^{}\\[~]|€")


def test_whole_basic_table_is_gsm7_one_septet_each() -> None:
    info = analyse(ALL_BASIC)
    assert (info.encoding, info.units, info.non_gsm) == ("GSM-7", 127, ())


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        ("", 0, 1),  # Twilio counts an empty message as one segment
        ("a", 1, 1),
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),
        ("a" * 306, 306, 2),  # 153 * 2
        ("a" * 307, 307, 3),
        ("a" * 1530, 1530, 10),
        ("a" * 1531, 1531, 11),
        ("€" * 80, 160, 1),
        ("€" * 81, 162, 2),
        ("a" * 159 + "{", 161, 2),
        ("Call 999", 8, 1),
    ],
)
def test_gsm7_units_and_segments(text: str, units: int, segments: int) -> None:
    info = analyse(text)
    assert (info.encoding, info.chars, info.units, info.segments) == ("GSM-7", len(text), units, segments)


@pytest.mark.parametrize("ch", sorted(GSM_EXTENSION))
def test_extension_characters_count_two(ch: str) -> None:
    info = analyse("a" + ch)
    assert (info.encoding, info.units, info.chars) == ("GSM-7", 3, 2)


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        ("’", 1, 1),
        ("’" * 70, 70, 1),
        ("’" * 71, 71, 2),
        ("’" * 134, 134, 2),  # 67 * 2
        ("’" * 135, 135, 3),
        ("😀", 2, 1),
        ("😀" * 35, 70, 1),
        ("😀" * 36, 72, 2),
        ("a" * 69 + "ŵ", 70, 1),
    ],
)
def test_ucs2_counts_utf16_units(text: str, units: int, segments: int) -> None:
    info = analyse(text)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", units, segments)


@pytest.mark.parametrize(
    ("text", "non_gsm"),
    [
        ("It’s ok", ("’",)),
        ("“quoted” – dash…", ("“", "”", "–", "…")),
        ("ç is not Ç", ("ç",)),
        ("Croeso i Gymru: ŵ ŷ", ("ŵ", "ŷ")),
        ("tab\there", ("\t",)),
        ("back`tick", ("`",)),
        ("twice ’ ’", ("’",)),
    ],
)
def test_non_gsm_characters_force_ucs2(text: str, non_gsm: tuple[str, ...]) -> None:
    info = analyse(text)
    assert info.encoding == "UCS-2"
    assert info.non_gsm == non_gsm


def test_a_single_curly_apostrophe_more_than_doubles_the_cost() -> None:
    plain = "If you are in danger, call 999. " * 4
    assert analyse(plain).segments == 1
    assert analyse(plain + "It’s").segments == 2


@pytest.mark.parametrize(
    ("smart", "plain"),
    [
        ("It’s", "It's"),
        ("‘quote’", "'quote'"),
        ("“quote”", '"quote"'),
        ("a – b — c", "a - b - c"),
        ("wait…", "wait..."),
        ("non\u00a0breaking", "non breaking"),
        ("zero\u200bwidth", "zerowidth"),
    ],
)
def test_replace_smart(smart: str, plain: str) -> None:
    assert replace_smart(smart) == plain
    assert analyse(replace_smart(smart)).encoding == "GSM-7"


def test_every_replacement_is_gsm7() -> None:
    for smart, plain in REPLACEMENTS.items():
        assert analyse(smart).encoding == "UCS-2"
        assert analyse(plain).encoding == "GSM-7"


def test_replace_smart_leaves_other_text_alone() -> None:
    assert replace_smart("Call 0800 612 6505 - 100% free {ok}") == "Call 0800 612 6505 - 100% free {ok}"


def _septets(part: str) -> int:
    return sum(2 if ch in GSM_EXTENSION else 1 for ch in part)


def _utf16(part: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in part)


@pytest.mark.parametrize(
    ("text", "lengths"),
    [
        ("a" * 160, [160]),
        ("a" * 161, [153, 8]),
        ("a" * 306, [153, 153]),
        ("a" * 307, [153, 153, 1]),
        ("’" * 71, [67, 4]),
        ("’" * 134, [67, 67]),
    ],
)
def test_split_parts_lengths(text: str, lengths: list[int]) -> None:
    parts = split_parts(text)
    assert [len(p) for p in parts] == lengths
    assert "".join(parts) == text
    assert len(parts) == analyse(text).segments


def test_split_never_breaks_an_escape_pair() -> None:
    text = "a" * 152 + "€" + "b" * 10
    parts = split_parts(text)
    assert parts == ["a" * 152, "€" + "b" * 10]
    assert all(_septets(p) <= 153 for p in parts)


def test_split_never_breaks_a_surrogate_pair() -> None:
    text = "a" * 66 + "😀" + "b" * 10
    parts = split_parts(text)
    assert parts == ["a" * 66, "😀" + "b" * 10]
    assert all(_utf16(p) <= 67 for p in parts)


@pytest.mark.parametrize(
    "text",
    [
        "x{" * 200,
        "😀a" * 90,
        "If you are in danger, call 999. ’" * 20,
        "Stalking is fixated, obsessive, unwanted and repeated contact. " * 9,
        "a\ud800b" * 50,  # a lone surrogate from a bad form still counts as one unit
    ],
)
def test_split_parts_round_trip_within_limits(text: str) -> None:
    parts = split_parts(text)
    assert "".join(parts) == text
    info = analyse(text)
    assert len(parts) == info.segments
    if info.encoding == "GSM-7":
        assert all(_septets(p) <= 153 for p in parts)
    else:
        assert all(_utf16(p) <= 67 for p in parts)


def test_sms_info_is_frozen() -> None:
    info = analyse("DVS")
    with pytest.raises(AttributeError):
        info.segments = 5  # type: ignore[misc]
