"""The keyword editor: every edit goes into the draft, checked by the same rules as `keywords check`.

An edit loads the working YAML (the draft, else the live version), changes the structure, dumps it and parses
the result with `parse_book`. A refused edit is not saved; each problem is shown on the form field whose
entry it names (the rest at the top of the form). So the draft is always a valid keywords file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gateway.console import audit, bp
from gateway.console.auth import client_addr, json_object, role_required, who
from gateway.keywords import approval, hours, rules, sms, versions
from gateway.keywords.book import CASE_ID_TEXTS, KeywordBook
from gateway.keywords.hours import DAYS
from gateway.keywords.problems import KeywordFileError, Problem
from gateway.keywords.reader import parse_book
from gateway.keywords.rules import bad_phone_numbers
from gateway.runtime import signpost

Fields = dict[str, tuple[str, bool]]  # form field -> (entry in the file, exact match only)
Placer = Callable[[Problem], tuple[str, str] | None]  # a problem no field's entry names -> (field, message)
SET_TEXTS = (
    ("default", "Default reply (texts that match no keyword)", True),
    ("help", "Help reply (HELP or INFO on its own)", True),
    ("optout_reply", "Opt-out confirmation (after STOP)", False),
    ("optin_reply", "Opt-in confirmation (after START)", False),
    ("danger_footer", "Danger footer (after the danger reply when no keyword matched)", False),
)
_WORDS = re.compile(r"[\s,;]+")
PREVIEW_MAX = 5000


def bootstrap_text() -> str:
    return signpost().live.bootstrap_text


def approval_required() -> bool:
    """Whether publishing needs a second person now (the setting or the live keywords file)."""
    sp = signpost()
    return approval.required(sp.redis, sp.settings.publish_requires_approval, bootstrap_text())


def working() -> tuple[str, int | None, bool]:
    """(text, base version, is a draft) that edits apply to."""
    r = signpost().redis
    draft = versions.get_draft(r)
    if draft is not None:
        return draft.text, draft.base, True
    number, text = versions.live_text(r, bootstrap_text())
    return text, number, False


def working_book() -> tuple[KeywordBook, int | None, bool]:
    text, base, is_draft = working()
    return parse_book(text, "draft" if is_draft else "live"), base, is_draft


def clean(text: str | None) -> str:
    """Form text as stored: Windows line ends and trailing spaces dropped, trimmed."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def words(text: str | None) -> list[str]:
    return [w for w in _WORDS.split(text or "") if w]


def texts_of(value: Any, language: str) -> dict[str, str]:
    """TEXT from the file as {language: text}."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {} if value is None else {language: str(value)}


def texts_value(texts: dict[str, str], language: str) -> Any:
    """{language: text} back to TEXT: a plain string when only the set's language is given."""
    given = {k: v for k, v in texts.items() if v}
    if not given:
        return None
    if set(given) == {language}:
        return given[language]
    return {language: given.get(language, ""), **{k: v for k, v in given.items() if k != language}}


def set_languages(kset: dict[str, Any]) -> list[str]:
    """The set's language first, then every other language used anywhere in the set."""
    main = str(kset.get("language") or "en")
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if key in ("reply", "closed_reply", "aliases", "default", "help", "optout_reply", "optin_reply",
                           "danger_footer", "languages"):
                    found.add(str(k))
                walk(v, str(k))

    walk(kset)
    return [main] + sorted(found - {main})


def assign(problems: list[Problem], fields: Fields, place: Placer | None = None
           ) -> tuple[dict[str, list[str]], list[str]]:
    """Each problem on the form field whose entry it names (the most specific), else where `place` puts it,
    else in the general list."""
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        best: str | None = None
        for name, (entry, exact) in fields.items():
            hit = problem.entry == entry or (not exact and problem.entry.startswith((entry + ".", entry + "[")))
            if hit and (best is None or len(entry) > len(fields[best][0])):
                best = name
        placed = place(problem) if best is None and place is not None else None
        if best is not None:
            errors.setdefault(best, []).append(problem.message)
        elif placed is not None:
            errors.setdefault(placed[0], []).append(placed[1])
        else:
            general.append(f"{problem.entry}: {problem.message}" if problem.entry else problem.message)
    return errors, general


def save(mutate: Callable[[dict[str, Any]], None], fields: Fields, action: str, place: Placer | None = None
         ) -> tuple[bool, dict[str, list[str]], list[str], list[Problem]]:
    """Apply `mutate` to the working text and save it as the draft if it passes every check."""
    r = signpost().redis
    text, base, _ = working()
    data = versions.load_structure(text)
    mutate(data)
    new_text = versions.dump_structure(data, like=text)
    try:
        book = parse_book(new_text, "draft")
    except KeywordFileError as exc:
        errors, general = assign(exc.problems, fields, place)
        return False, errors, general, []
    before = versions.get_draft(r)
    versions.save_draft(r, new_text, base, who())
    audit.record(r, current_user.name, "draft-edit", action, client_addr())
    if before is not None and before.submitted:
        audit.record(r, current_user.name, "draft-withdrawn", "edited while waiting for approval", client_addr())
        flash("The draft was waiting for approval: this edit withdrew it. Submit it again when it is ready.",
              "warning")
    return True, {}, [], list(book.warnings)


def _sms_summary(text: str) -> dict[str, Any]:
    info = sms.analyse(text)
    return {"chars": info.chars, "encoding": info.encoding, "segments": info.segments}


# --- pages ---------------------------------------------------------------------------------------------------

@bp.get("/keywords")
@role_required("editor")
def keywords() -> ResponseReturnValue:
    book, base, is_draft = working_book()
    data = versions.load_structure(working()[0])
    numbers = []
    for number, cfg in book.numbers.items():
        raw = (data.get("numbers") or {}).get(number) or {}
        numbers.append({"number": number, "cfg": cfg,
                        "confirmations_default": "confirmations" not in raw,
                        "ack": dict(cfg.relay_ack or {}),
                        "ack_info": {k: _sms_summary(v) for k, v in (cfg.relay_ack or {}).items()},
                        "unread": bool(cfg.relay_unread), "failed": bool(cfg.relay_failed),
                        "read": bool(cfg.relay_read)})
    sets = []
    for name, kset in book.sets.items():
        raw = (data.get("sets") or {}).get(name) or {}
        rows = []
        for kw in kset.keywords.values():
            rows.append({"name": kw.name, "aliases": {k: list(v) for k, v in kw.aliases.items()},
                         "replies": dict(kw.replies),
                         "info": {k: _sms_summary(v) for k, v in kw.replies.items()},
                         "hours": hours.summary(kw.hours) if kw.hours else None,
                         "closed": dict(kw.closed_replies or {})})
        served = [n for n, c in book.numbers.items() if c.set == name and not c.relay]
        sets.append({"name": name, "language": kset.language, "languages": set_languages(raw), "rows": rows,
                     "numbers": served, "is_default": name == book.default_set})
    return render_template("keywords.html", numbers=numbers, sets=sets, is_draft=is_draft, base=base,
                           live=versions.live_number(signpost().redis), warnings=book.warnings,
                           danger=book.danger_phrases, needs_approval=is_draft and approval_required())


def _set_or_404(data: dict[str, Any], set_name: str) -> dict[str, Any]:
    kset = (data.get("sets") or {}).get(set_name)
    if not isinstance(kset, dict):
        abort(404)
    return kset


@bp.route("/sets/<set_name>/keywords/new", methods=["GET", "POST"], defaults={"name": None})
@bp.route("/sets/<set_name>/keywords/<name>", methods=["GET", "POST"])
@role_required("editor")
def keyword(set_name: str, name: str | None) -> ResponseReturnValue:
    text, _, _ = working()
    data = versions.load_structure(text)
    kset = _set_or_404(data, set_name)
    language = str(kset.get("language") or "en")
    languages = set_languages(kset)
    keywords_ = kset.get("keywords") or {}
    if name is not None and name not in keywords_:
        abort(404)
    current = keywords_.get(name) or {} if name else {}
    if request.method == "GET":
        values: dict[str, str] = {"name": name or ""}
        for lang, reply in texts_of(current.get("reply"), language).items():
            values[f"reply_{lang}"] = reply
        for lang, reply in texts_of(current.get("closed_reply"), language).items():
            values[f"closed_reply_{lang}"] = reply
        values.update(_hours_values(current.get("hours")))
        aliases = current.get("aliases") or []
        alias_map = aliases if isinstance(aliases, dict) else {language: aliases}
        for lang, listed in alias_map.items():
            values[f"aliases_{lang}"] = ", ".join(str(w) for w in listed or [])
        return render_template("keyword.html", set_name=set_name, name=name, languages=languages, values=values,
                               errors={}, general=[], days=DAYS)

    form = request.form
    new_name = clean(form.get("name")).upper()
    replies = {lang: clean(form.get(f"reply_{lang}")) for lang in languages}
    closed = {lang: clean(form.get(f"closed_reply_{lang}")) for lang in languages}
    alias_words = {lang: words(form.get(f"aliases_{lang}")) for lang in languages}
    opening = {day: clean(form.get(f"hours_{day}")) for day in DAYS}
    bank_holidays = clean(form.get("hours_bank_holidays")) or "closed"
    errors: dict[str, list[str]] = {}
    if not new_name:
        errors["name"] = ["a keyword is needed"]
    elif name is None and new_name in keywords_:
        errors["name"] = [f"{new_name} already exists in this set"]
    if not replies.get(language):
        errors.setdefault(f"reply_{language}", []).append("a reply is needed")
    if errors:
        return render_template("keyword.html", set_name=set_name, name=name, languages=languages,
                               values=form, errors=errors, general=[], days=DAYS), 400

    def mutate(doc: dict[str, Any]) -> None:
        target = doc["sets"][set_name]
        old = target.get("keywords") or {}
        # Start from the keyword as it is, so that fields this form does not show are kept.
        entry: dict[str, Any] = dict(old.get(name) or {}) if name is not None else {}
        non_empty = {k: v for k, v in alias_words.items() if v}
        if non_empty:
            entry["aliases"] = non_empty[language] if set(non_empty) == {language} else non_empty
        else:
            entry.pop("aliases", None)
        entry["reply"] = texts_value(replies, language)
        week = {day: value for day, value in opening.items() if value}
        if week:
            before = entry.get("hours") if isinstance(entry.get("hours"), dict) else {}
            if bank_holidays != "closed" or "bank_holidays" in before:
                week["bank_holidays"] = bank_holidays
            entry["hours"] = week
        else:
            entry.pop("hours", None)
        closed_value = texts_value(closed, language)
        if closed_value is None:
            entry.pop("closed_reply", None)
        else:
            entry["closed_reply"] = closed_value
        rebuilt: dict[str, Any] = {}
        for key, value in old.items():
            rebuilt[new_name if key == name else key] = entry if key == name else value
        if name is None:
            rebuilt[new_name] = entry
        target["keywords"] = rebuilt

    where = f"sets.{set_name}.keywords.{new_name}"
    fields: Fields = {"name": (where, True)}
    for lang in languages:
        suffix = "" if lang == language else f".{lang}"
        fields[f"reply_{lang}"] = (f"{where}.reply{suffix}", False)
        fields[f"closed_reply_{lang}"] = (f"{where}.closed_reply{suffix}", False)
        fields[f"aliases_{lang}"] = (f"{where}.aliases{suffix}" if suffix else f"{where}.aliases", False)
    fields["hours"] = (f"{where}.hours", True)
    for day in (*DAYS, "bank_holidays"):
        fields[f"hours_{day}"] = (f"{where}.hours.{day}", False)
    action = f"keyword {set_name}.{new_name}" + ("" if name in (None, new_name) else f" (renamed from {name})")
    ok, errors, general, warnings = save(mutate, fields, action, _collisions(new_name, alias_words, language))
    if not ok:
        return render_template("keyword.html", set_name=set_name, name=name, languages=languages, values=form,
                               errors=errors, general=general, days=DAYS), 400
    flash(f"{new_name} saved to the draft. Try it in the sandbox, then publish.", "info")
    for warning in warnings:
        if warning.entry.startswith(where):
            flash(f"Warning: {warning.entry}: {warning.reason}", "warning")
    return redirect(url_for("console.keywords") + f"#kw-{set_name}-{new_name}")


def _hours_values(value: Any) -> dict[str, str]:
    """A keyword's `hours` from the file as form values: hours_monday .. hours_sunday, hours_bank_holidays."""
    block = value if isinstance(value, dict) else {}
    values = {"hours_bank_holidays": str(block.get("bank_holidays") or "closed")}
    for day in DAYS:
        given = block.get(day)
        if given is not None:
            values[f"hours_{day}"] = ", ".join(map(str, given)) if isinstance(given, list) else str(given)
    return values


def _collisions(keyword: str, alias_words: dict[str, list[str]], language: str) -> Placer:
    """A word of this keyword that another keyword already uses is reported on the other keyword's line (it
    comes later in the file); show it on this form's field instead, naming the other keyword."""

    def place(problem: Problem) -> tuple[str, str] | None:
        if problem.code != "word_taken" or problem.args["keyword"] != keyword:
            return None
        word, other = problem.args["word"], problem.args["claimant"]
        if problem.args["match"] == "exact":
            field = "name"
        else:
            field = next((f"aliases_{lang}" for lang, listed in alias_words.items()
                          if word.lower() in (w.lower() for w in listed)), f"aliases_{language}")
        by = "the language" if problem.args.get("claimant_match") == "language" else "keyword"
        return field, f"{word!r} is already used by {by} {other}"

    return place


@bp.post("/sets/<set_name>/keywords/<name>/delete")
@role_required("editor")
def keyword_delete(set_name: str, name: str) -> ResponseReturnValue:
    text, _, _ = working()
    kset = _set_or_404(versions.load_structure(text), set_name)
    if name not in (kset.get("keywords") or {}):
        abort(404)

    def mutate(doc: dict[str, Any]) -> None:
        doc["sets"][set_name]["keywords"].pop(name, None)

    ok, _, general, _ = save(mutate, {}, f"deleted keyword {set_name}.{name}")
    if ok:
        flash(f"{name} deleted in the draft.", "info")
    else:
        flash(f"{name} cannot be deleted: " + "; ".join(general), "error")
    return redirect(url_for("console.keywords"))


def _text_form(title: str, template_fields: list[dict[str, Any]], values: Any, errors: dict, general: list,
               action: str, status: int = 200) -> ResponseReturnValue:
    return render_template("texts.html", title=title, fields=template_fields, values=values, errors=errors,
                           general=general, action=action), status


@bp.route("/sets/<set_name>/texts", methods=["GET", "POST"])
@role_required("editor")
def set_texts(set_name: str) -> ResponseReturnValue:
    text, _, _ = working()
    kset = _set_or_404(versions.load_structure(text), set_name)
    language = str(kset.get("language") or "en")
    languages = set_languages(kset)
    shown = []
    for field, label, required in SET_TEXTS:
        for lang in languages:
            shown.append({"name": f"{field}_{lang}", "label": f"{label}" + ("" if lang == language else f" [{lang}]"),
                          "sms": True, "required": required and lang == language,
                          # the preview adds the other languages' offers sent under these two
                          "preview": {"set": set_name, "language": lang} if field in ("default", "help") else None})
    title = f"Fixed replies of set {set_name}"
    action = url_for("console.set_texts", set_name=set_name)
    if request.method == "GET":
        values = {}
        for field, _, _ in SET_TEXTS:
            for lang, value in texts_of(kset.get(field), language).items():
                values[f"{field}_{lang}"] = value
        return _text_form(title, shown, values, {}, [], action)
    form = request.form
    collected = {field: {lang: clean(form.get(f"{field}_{lang}")) for lang in languages}
                 for field, _, _ in SET_TEXTS}

    def mutate(doc: dict[str, Any]) -> None:
        target = doc["sets"][set_name]
        for field, _, required in SET_TEXTS:
            value = texts_value(collected[field], language)
            if value is None and not required:
                target.pop(field, None)
            else:
                target[field] = "" if value is None else value

    fields: Fields = {}
    for field, _, _ in SET_TEXTS:
        for lang in languages:
            fields[f"{field}_{lang}"] = (f"sets.{set_name}.{field}" + ("" if lang == language else f".{lang}"),
                                         lang != language)
    ok, errors, general, _ = save(mutate, fields, f"fixed replies of set {set_name}")
    if not ok:
        return _text_form(title, shown, form, errors, general, action, 400)
    flash(f"Fixed replies of {set_name} saved to the draft.", "info")
    return redirect(url_for("console.keywords"))


@bp.route("/danger", methods=["GET", "POST"])
@role_required("editor")
def danger() -> ResponseReturnValue:
    text, _, _ = working()
    data = versions.load_structure(text)
    block = data.get("danger") or {}
    phrases = block.get("phrases") or []
    by_language = isinstance(phrases, dict)
    phrase_langs = list(phrases) if by_language else [""]
    reply = block.get("reply")
    reply_langs = list(reply) if isinstance(reply, dict) else [""]
    shown = [{"name": f"phrases_{lang}", "label": "Danger phrases, one per line" + (f" [{lang}]" if lang else ""),
              "sms": False, "required": True, "rows": 12,
              "hint": "Whole words; end with * to match word starts (kill* catches killed, killing)."}
             for lang in phrase_langs]
    shown += [{"name": f"reply_{lang}", "label": "Danger reply (put first)" + (f" [{lang}]" if lang else ""),
               "sms": True, "required": True} for lang in reply_langs]
    action = url_for("console.danger")
    title = "Danger phrases and reply"
    if request.method == "GET":
        values = {}
        for lang in phrase_langs:
            listed = phrases.get(lang) if by_language else phrases
            values[f"phrases_{lang}"] = "\n".join(str(p) for p in listed or [])
        for lang in reply_langs:
            values[f"reply_{lang}"] = str(reply.get(lang) if isinstance(reply, dict) else (reply or ""))
        return _text_form(title, shown, values, {}, [], action)
    form = request.form

    def lines(raw: str | None) -> list[str]:
        return [line.strip() for line in clean(raw).split("\n") if line.strip()]

    def mutate(doc: dict[str, Any]) -> None:
        target = doc.setdefault("danger", {})
        if by_language:
            target["phrases"] = {lang: lines(form.get(f"phrases_{lang}")) for lang in phrase_langs}
        else:
            target["phrases"] = lines(form.get("phrases_"))
        if isinstance(reply, dict):
            target["reply"] = {lang: clean(form.get(f"reply_{lang}")) for lang in reply_langs}
        else:
            target["reply"] = clean(form.get("reply_"))

    fields: Fields = {}
    for lang in phrase_langs:
        fields[f"phrases_{lang}"] = ("danger.phrases" + (f".{lang}" if lang else ""), False)
    for lang in reply_langs:
        fields[f"reply_{lang}"] = ("danger.reply" + (f".{lang}" if lang else ""), False)
    ok, errors, general, _ = save(mutate, fields, "danger phrases and reply")
    if not ok:
        return _text_form(title, shown, form, errors, general, action, 400)
    flash("Danger phrases and reply saved to the draft.", "info")
    return redirect(url_for("console.keywords"))


# The texts a relay texter gets, as the relay line's page shows them: (file field, form prefix, label, hint).
RELAY_TEXTS = (
    ("relay_ack", "ack", "Relay acknowledgement",
     "Sent back to every new relay texter, followed by their case reference. Must mention 999."),
    ("relay_unread", "unread", "Not read yet",
     "Sent once if nobody has read the case when the second tier is alerted. Write {id} where the case id goes "
     "(counted as 6 characters); no other {...}. Must mention 999. Leave empty to send the built-in text."),
    ("relay_failed", "failed", "Could not reach the control room",
     "Sent if the text could not be passed to the control room after every retry. No {...}. Must mention 999. "
     "Leave empty to send the built-in text."),
    ("relay_read", "read", "Read by the control room",
     "Sent once when someone acknowledges the case (ACK or the Acknowledge button), not with a reply. Write {id} "
     "where the case id goes (counted as 6 characters); no other {...}. Must mention 999. Leave empty to send "
     "the built-in text."),
)


@bp.route("/numbers/<number>/relay-ack", methods=["GET", "POST"])
@role_required("editor")
def relay_ack(number: str) -> ResponseReturnValue:
    text, _, _ = working()
    data = versions.load_structure(text)
    cfg = (data.get("numbers") or {}).get(number)
    if not isinstance(cfg, dict) or not cfg.get("relay"):
        abort(404)
    set_name = str(cfg.get("set") or data.get("default_set"))
    language = str(((data.get("sets") or {}).get(set_name) or {}).get("language") or "en")
    current = {field: texts_of(cfg.get(field), language) for field, _, _, _ in RELAY_TEXTS}
    languages = [language] + sorted({lang for texts in current.values() for lang in texts} - {language})
    shown = [{"name": f"{prefix}_{lang}", "label": label + ("" if lang == language else f" [{lang}]"),
              "sms": True, "required": field == "relay_ack" and lang == language, "hint": hint,
              "case_id": field in CASE_ID_TEXTS}
             for field, prefix, label, hint in RELAY_TEXTS for lang in languages]
    action = url_for("console.relay_ack", number=number)
    title = f"Relay line {number}: texts to the texter"
    if request.method == "GET":
        values = {f"{prefix}_{lang}": value for field, prefix, _, _ in RELAY_TEXTS
                  for lang, value in current[field].items()}
        return _text_form(title, shown, values, {}, [], action)
    form = request.form
    collected = {field: {lang: clean(form.get(f"{prefix}_{lang}")) for lang in languages}
                 for field, prefix, _, _ in RELAY_TEXTS}

    def mutate(doc: dict[str, Any]) -> None:
        # The number's other fields (set, kind, rate...) stay as they are.
        target = doc["numbers"][number]
        target["relay_ack"] = texts_value(collected["relay_ack"], language) or ""
        for field in (field for field, _, _, _ in RELAY_TEXTS if field != "relay_ack"):  # the optional ones
            value = texts_value(collected[field], language)
            if value is None:
                target.pop(field, None)  # the built-in text is sent
            else:
                target[field] = value

    fields: Fields = {f"{prefix}_{lang}": (f"numbers.{number}.{field}" + ("" if lang == language else f".{lang}"),
                                           lang != language)
                      for field, prefix, _, _ in RELAY_TEXTS for lang in languages}
    ok, errors, general, _ = save(mutate, fields, f"relay texts of {number}")
    if not ok:
        return _text_form(title, shown, form, errors, general, action, 400)
    flash(f"Texts to relay texters on {number} saved to the draft.", "info")
    return redirect(url_for("console.keywords"))


# --- live preview ------------------------------------------------------------------------------------------

def preview(text: str, offers: str = "", case_id: bool = False) -> dict[str, Any]:
    """SMS facts of a reply as the checks see them: characters, encoding, parts, UCS-2 characters and fixes;
    `offers`: the other languages' offers sent under it (help and default replies of a set offering several);
    `case_id`: a relay_unread or relay_read text, counted with {id} replaced by a case id."""
    filled = text.replace(rules.CASE_ID, rules.SAMPLE_CASE_ID) if case_id else text
    sent = f"{filled}\n{offers}" if offers else filled
    info = sms.analyse(sent)
    return {
        "case_id": filled if case_id else "",
        "offers": offers,
        "chars": info.chars,
        "encoding": info.encoding,
        "units": info.units,
        "segments": info.segments,
        "per_part": (160 if info.segments <= 1 else 153) if info.encoding == "GSM-7" else
                    (70 if info.segments <= 1 else 67),
        "non_gsm": [{"char": ch, "code": f"U+{ord(ch):04X}", "name": unicodedata.name(ch, "unnamed").title(),
                     "fix": sms.REPLACEMENTS.get(ch)} for ch in info.non_gsm],
        "fixed": sms.replace_smart(text),
        "parts": sms.split_parts(sent),
        "bad_numbers": bad_phone_numbers(text),
    }


def closed_preview(text: str, days: dict[str, str], at: datetime, language: str) -> dict[str, Any]:
    """A closed reply at the moment `at` with the form's opening hours: whether the service is open then, and the
    text sent while it is closed ({opens} filled; the longest it can be while open or if the hours are wrong)."""
    given = {day: value for day, value in days.items() if value.strip() and day != "bank_holidays"}
    facts: dict[str, Any] = {"at": f"{at.astimezone(hours.LONDON):%a %d %b %Y %H:%M}", "open": None,
                             "opens": None, "hours_error": None}
    filled = text.replace(hours.PLACEHOLDER, hours.LONGEST_OPENS)
    try:
        opening = hours.Hours(hours.week_of(given), bank_holidays_open=days.get("bank_holidays") == "open")
    except hours.HoursError as exc:
        facts["hours_error"] = str(exc)
        return {**preview(filled), **facts, "filled": filled}
    facts["open"] = opening.is_open(at)
    if not facts["open"]:
        opens = opening.next_opening(at)
        facts["opens"] = hours.describe(opens, at, language) if opens else None
        filled = hours.fill(text, opens, at, language)
    return {**preview(filled), **facts, "filled": filled}


@bp.post("/api/preview")
@role_required("editor")
def api_preview() -> ResponseReturnValue:
    """SMS facts of {"text": "..."} for the editor's live preview; 400 with the reason for any other shape.

    With "hours" ({"monday": "09:30-16:00", ..., "bank_holidays": "closed"}), the text is a closed reply seen at
    "at" (a datetime-local value, London time; default now) in "language" (default en). Otherwise, with "set"
    and "language" (a help or default reply of that set in that language), the facts are those of the reply as
    sent: with the other languages the working version's set offers listed under it."""
    payload = json_object()
    if "text" not in payload:
        return jsonify(error="text is required"), 400
    text = payload["text"]
    if not isinstance(text, str) or len(text) > PREVIEW_MAX:
        return jsonify(error=f"text must be a string of at most {PREVIEW_MAX} characters"), 400
    if "hours" in payload:
        days = payload["hours"]
        if not isinstance(days, dict) or not all(isinstance(v, str) and len(v) <= 200 for v in days.values()):
            return jsonify(error="hours must be an object of day names to texts like 09:30-16:00"), 400
        at = payload.get("at") or ""
        language = payload.get("language") or "en"
        if not isinstance(at, str) or not isinstance(language, str) or len(language) > 20:
            return jsonify(error="at and language must be strings"), 400
        try:
            moment = hours.moment(at) if at.strip() else datetime.now(UTC)
        except ValueError as exc:
            return jsonify(error=f"at: {exc}"), 400
        return jsonify(closed_preview(text, {str(k): v for k, v in days.items()}, moment, language))
    if payload.get("case_id") is True:
        return jsonify(preview(text, case_id=True))
    set_name, language = payload.get("set"), payload.get("language")
    if set_name is None and language is None:
        return jsonify(preview(text))
    if not isinstance(set_name, str) or not isinstance(language, str):
        return jsonify(error="set and language must both be strings"), 400
    kset = working_book()[0].sets.get(set_name)
    return jsonify(preview(text, kset.languages_line(language) if kset is not None else ""))
