"""Encoding, units and segment counts checked against Twilio's message segment calculator.

The calculator cases are ported from https://github.com/TwilioDevEd/message-segment-calculator (commit a50230f),
files tests/index.test.js, tests/segments.test.js and tests/methods.test.js, re-expressed as data:
- "units" is its messageSize (bits, without the user data headers) over 7 for GSM-7 or 16 for UCS-2;
- "chars" is its numberOfUnicodeScalars (code points, our SmsInfo.chars);
- "characters" is its numberOfCharacters: septets for GSM-7, grapheme clusters for UCS-2.
Skipped from tests/index.test.js: the "Smart Encoding" block (we never apply Twilio's smart encoding; our own
replace_smart is an explicit, different fix-up) and totalSize (bits including headers, which we do not report: it
follows from the segment count). The user data header checks of tests/segments.test.js become part sizes here.
"""

from __future__ import annotations

import pytest

from gateway.keywords import sms
from gateway.keywords.sms import GSM_EXTENSION, SmsInfo, analyse, non_gsm_chars, split_parts

GB = "\U0001f1ec\U0001f1e7"  # flag: two regional indicators
THUMB = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # four people joined by ZWJ
KEYCAP = "1\ufe0f\u20e3"  # digit, emoji presentation selector, combining keycap
HEART = "\u2764\ufe0f"  # BMP symbol with a variation selector
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"  # the rainbow flag of the calculator's tests
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # tag sequence
HEALTH_WORKER = "\U0001f469\U0001f3fe\u200d\u2695\ufe0f"  # skin tone inside a ZWJ sequence
E_ACUTE = "e\u0301"  # combining mark


def _run(n: int, first: int = 1) -> str:
    """`n` digits of 1234567890 1234567890 ..., starting at digit `first` (the calculator's test bodies)."""
    return ("1234567890" * (n // 10 + 2))[first - 1 : first - 1 + n]


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _septets(text: str) -> int:
    return sum(2 if ch in GSM_EXTENSION else 1 for ch in text)


# (text, encoding, segments, units, chars, characters); None where the calculator's test does not say.
CALCULATOR_CASES = [
    # tests/index.test.js, "Basic tests"
    pytest.param(_run(160), "GSM-7", 1, 160, 160, 160, id="GSM-7 in one segment"),
    pytest.param(_run(161), "GSM-7", 2, 161, 161, 161, id="GSM-7 in two segments"),
    pytest.param(_run(307), "GSM-7", 3, 307, 307, 307, id="GSM-7 in three segments"),
    pytest.param("😜" + _run(68, 2), "UCS-2", 1, 70, 69, 69, id="UCS-2 message in one segment"),
    pytest.param("😜" + _run(69, 2), "UCS-2", 2, 71, 70, 70, id="UCS-2 message in two segments"),
    pytest.param("😜" + _run(133, 2), "UCS-2", 3, 135, 134, 134, id="UCS-2 message in three segments"),
    pytest.param("🇮🇹" + _run(66, 2), "UCS-2", 1, 70, 68, 67, id="UCS-2 flag in one segment boundary"),
    pytest.param("🇮🇹" + _run(67, 2), "UCS-2", 2, 71, 69, 68, id="UCS-2 flag in two segments boundary"),
    pytest.param(RAINBOW + _run(64, 2), "UCS-2", 1, 70, 68, 65, id="UCS-2 ZWJ flag in one segment boundary"),
    pytest.param(RAINBOW + _run(65, 2), "UCS-2", 2, 71, 69, 66, id="UCS-2 ZWJ flag in two segments boundary"),
    # tests/index.test.js, "GSM-7 Escape Characters" (its list, which leaves out the form feed)
    *(
        pytest.param(ch + _run(158), "GSM-7", 1, 160, 159, None, id=f"one segment with escape {ch}")
        for ch in "|^€{}[]~\\"
    ),
    *(
        pytest.param(ch + _run(159), "GSM-7", 2, 161, 160, None, id=f"two segments with escape {ch}")
        for ch in "|^€{}[]~\\"
    ),
    # tests/index.test.js, "One grapheme UCS-2 characters"
    *(pytest.param(ch * 70, "UCS-2", 1, 70, 70, 70, id=f"70 of {ch}") for ch in "ÁÚúçíÍóÓ"),
    *(pytest.param(ch * 71, "UCS-2", 2, 71, 71, 71, id=f"71 of {ch}") for ch in "ÁÚúçíÍóÓ"),
    # tests/index.test.js, "Special tests" (issue #18: extension characters cost one unit in UCS-2)
    pytest.param("😀" + "]" * 68, "UCS-2", 1, 70, 69, None, id="UCS-2 with GSM extension chars in one segment"),
    pytest.param("😀" + "]" * 69, "UCS-2", 2, 71, 70, None, id="UCS-2 with GSM extension chars in two segments"),
    # tests/index.test.js, "Line break styles tests" (CRLF counts as two characters)
    pytest.param("\rabcde\r\n123", "GSM-7", 1, 11, 11, 11, id="CRLF line breaks"),
    pytest.param("\nabcde\n\n123\n", "GSM-7", 1, 12, 12, 12, id="LF line breaks"),
    pytest.param("e\u0301\u0301\u0301", "UCS-2", 1, 4, 4, 1, id="triple accents unicode"),
    pytest.param("e\u0301\u0301\u0301" + "a" * 66, "UCS-2", 1, 70, 70, 67, id="triple accents one segment"),
    pytest.param("e\u0301\u0301\u0301" + "a" * 67, "UCS-2", 2, 71, 71, 68, id="triple accents two segments"),
]


@pytest.mark.parametrize(("text", "encoding", "segments", "units", "chars", "characters"), CALCULATOR_CASES)
def test_matches_calculator(
    text: str, encoding: str, segments: int, units: int, chars: int, characters: int | None
) -> None:
    info = analyse(text)
    assert (info.encoding, info.segments, info.units, info.chars) == (encoding, segments, units, chars)
    parts = split_parts(text)
    assert len(parts) == segments and "".join(parts) == text
    if characters is not None:
        assert (units if encoding == "GSM-7" else len(sms._graphemes(text))) == characters


@pytest.mark.parametrize("ch", "ÁÚúçíÍóÓ")
def test_accented_letters_outside_gsm_are_non_gsm(ch: str) -> None:
    assert analyse(ch * 71).non_gsm == (ch,)


def test_non_gsm_characters() -> None:
    # tests/methods.test.js, getNonGsmCharacters()
    assert non_gsm_chars("más") == ("á",)


@pytest.mark.parametrize(
    ("text", "sizes", "last"),
    [
        # tests/segments.test.js: three segments with headers, the last holding one character
        pytest.param(_run(307), [153, 153, 1], "7", id="GSM-7"),
        pytest.param("😜" + _run(133, 2), [67, 67, 1], "4", id="UCS-2"),
    ],
)
def test_parts_after_user_data_headers(text: str, sizes: list[int], last: str) -> None:
    parts = split_parts(text)
    size = _septets if analyse(text).encoding == "GSM-7" else _utf16
    assert [size(p) for p in parts] == sizes
    assert parts[-1] == last


def test_empty_message_is_one_segment_with_no_parts() -> None:
    assert analyse("") == SmsInfo(chars=0, encoding="GSM-7", units=0, segments=1, non_gsm=())
    assert split_parts("") == []


# A grapheme straddling the 67-unit boundary moves whole to the next part (part sizes checked with the calculator).
@pytest.mark.parametrize(
    ("before", "grapheme", "after"),
    [
        pytest.param(65, GB, 65, id="flag"),
        pytest.param(65, THUMB, 65, id="skin tone"),
        pytest.param(60, FAMILY, 63, id="ZWJ family"),
        pytest.param(66, KEYCAP, 65, id="keycap"),
        pytest.param(66, HEART, 66, id="variation selector"),
        pytest.param(60, ENGLAND, 60, id="tag sequence"),
        pytest.param(63, HEALTH_WORKER, 64, id="skin tone in ZWJ sequence"),
        pytest.param(66, E_ACUTE, 66, id="combining mark"),
    ],
)
def test_grapheme_across_the_part_boundary_moves_whole(before: int, grapheme: str, after: int) -> None:
    text = "a" * before + grapheme + "b" * after
    assert _utf16(text) == 134  # fits two parts exactly if the grapheme could be cut
    info = analyse(text)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", 134, 3)
    parts = split_parts(text)
    assert parts[0] == "a" * before
    assert parts[1].startswith(grapheme)
    assert [_utf16(p) for p in parts] == [before, 67, 67 - before]


GRAPHEMES = [GB, THUMB, FAMILY, KEYCAP, HEART, RAINBOW, ENGLAND, HEALTH_WORKER, E_ACUTE, "😀", "x", "ŵ"]


@pytest.mark.parametrize("offset", range(15))
def test_split_parts_never_cuts_a_grapheme(offset: int) -> None:
    sequence = ["a"] * offset + GRAPHEMES * 12
    text = "".join(sequence)
    ends = set()
    position = 0
    for grapheme in sequence:
        position += len(grapheme)
        ends.add(position)
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == analyse(text).segments
    assert all(_utf16(p) <= 67 for p in parts)
    position = 0
    for part in parts:
        position += len(part)
        assert position in ends
