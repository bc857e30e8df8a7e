"""Senders as Twilio gives them: which can be answered by SMS, and which cannot."""

from __future__ import annotations

import re

import pytest

from gateway import phone
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+447911123456", "+447911123456"),  # UK mobile, as Twilio gives it
        ("+44 7911 123456", "+447911123456"),
        ("07911 123456", "+447911123456"),  # national spelling: our numbers are UK numbers
        ("+14155552671", "+14155552671"),  # a valid US number
        ("+442079460958", "+442079460958"),  # a London landline: valid (text-to-landline exists)
    ],
)
def test_answerable_numbers(raw: str, e164: str) -> None:
    sender = phone.classify(raw)
    assert (sender.kind, sender.e164, sender.raw, sender.answerable) == ("phone", e164, raw, True)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("VODAFONE", "alphanumeric"),  # a network's name as sender ID
        ("O2", "alphanumeric"),
        ("MyBank-UK", "alphanumeric"),
        ("Ünïcode", "alphanumeric"),
        ("82228", "short_code"),
        ("60777", "short_code"),
        ("999", "short_code"),
        ("79460958", "local_only"),  # a landline without its area code: only dialable locally
        ("7946 0958", "local_only"),
        ("+4477009", "local_only"),  # cut off
        ("+3312345", "invalid"),  # too short for France
        ("+447700900123", "invalid"),  # Ofcom's drama range: possible, never allocated
        ("+441632960000", "invalid"),
        ("+44" + "1" * 40, "invalid"),
        ("", "missing"),
        ("   ", "missing"),
        ("+", "invalid"),
        ("+999999999999", "invalid"),
        ("\ud800", "invalid"),
        ("+44\x007911123456", "invalid"),
    ],
)
def test_unanswerable_senders(raw: str, kind: str) -> None:
    sender = phone.classify(raw)
    assert sender.kind == kind
    assert sender.answerable is False
    assert sender.e164 is None
    assert sender.raw == raw


def test_none_is_missing() -> None:
    assert phone.classify(None).kind == "missing"


@pytest.mark.parametrize("raw", ["+447911123456", "VODAFONE", "82228", "\ud800junk"])
def test_shown_is_printable_and_never_longer_than_40(raw: str) -> None:
    shown = phone.classify(raw).shown
    assert shown.isprintable() and len(shown) <= 40


@pytest.mark.parametrize("path", ["README.md", "scripts/dev"])
def test_the_documented_try_it_texts_come_from_answerable_numbers(path: str) -> None:
    # A new user trying the service by the book must see a reply, not "sender cannot be answered".
    numbers = re.findall(r"(?:--from |From=)(\+?\d+)", (ROOT / path).read_text())
    assert numbers
    assert [n for n in numbers if not phone.classify(n).answerable] == []
