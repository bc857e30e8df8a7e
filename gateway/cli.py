"""Command line: `flask --app wsgi keywords check|export|import` and `flask --app wsgi simulate TEXT`.

The staff console's `users` commands are in gateway/console/cli.py, `texter show|forget` in gateway/texts/cli.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
import redis
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from gateway import phone
from gateway.console import audit
from gateway.keywords import approval, engine, hours, sms, versions
from gateway.keywords.book import KeywordBook
from gateway.keywords.problems import KeywordFileError
from gateway.keywords.reader import load_book, parse_book, read_text
from gateway.runtime import signpost

keywords_cli = AppGroup("keywords", help="Check, export and import the keyword replies.")


# Paths are plain strings: the reader says what is wrong with a missing, unreadable or odd file, in one line.
@keywords_cli.command("check")
@click.argument("path", required=False)
def check(path: str | None) -> None:
    """Check a keywords file (default: KEYWORDS_FILE); exit 1 with file, line, entry and reason on error."""
    path = path or signpost().settings.keywords_file
    try:
        book = load_book(path)
    except KeywordFileError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    for warning in book.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{path}: ok ({len(book.warnings)} warnings)")


@keywords_cli.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False, writable=True))
def export(path: str | None) -> None:
    """Write the live keywords version as YAML to PATH (default: standard output)."""
    sp = signpost()
    number, text = versions.live_text(sp.redis, sp.live.bootstrap_text)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"{path}: {'version ' + str(number) if number else 'bootstrap file (nothing published)'}",
                   err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@keywords_cli.command("import")
@click.argument("path")
@click.option("--message", "-m", default="", help="what changed (kept with the version)")
def import_(path: str, message: str) -> None:
    """Check PATH and publish it as a new live version (served everywhere within 2 seconds); when publishing
    needs approval, make it the draft for two people in the console to submit and approve instead."""
    sp = signpost()
    message = message or f"imported {path}"
    try:
        text = read_text(path)
        if approval.required(sp.redis, sp.settings.publish_requires_approval, sp.live.bootstrap_text):
            _import_as_draft(text, path, message)
            return
        version = versions.publish(sp.redis, text, "cli", message, sp.live.bootstrap_text, source=path)
    except KeywordFileError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    audit.record(sp.redis, "cli", "published", f"version {version.number}: {version.message}")
    click.echo(f"published version {version.number}")


def _import_as_draft(text: str, path: str, message: str) -> None:
    r = signpost().redis
    parse_book(text, path)
    if versions.get_draft(r) is not None:
        click.echo("not imported: there is a draft in the console already; publish or discard it first", err=True)
        raise SystemExit(1)
    versions.save_draft(r, text, versions.live_number(r), "cli", message=message)
    audit.record(r, "cli", "draft-imported", f"{path}: {message}")
    click.echo("saved as the draft, not published: publishing needs approval. In the console one editor submits "
               "it and another approves it (/console/draft).")


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    """--at as an aware moment (default now); a usage error says what is wrong with it."""
    if value is None:
        return datetime.now(UTC)
    try:
        return hours.moment(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command("simulate")
@with_appcontext
@click.argument("text")
@click.option("--from", "from_", default="+447911000123", show_default=True, help="the texter's number")
@click.option("--to", default="82228", show_default=True, help="the number texted")
@click.option("--optout-type", type=click.Choice(["STOP", "START", "HELP"], case_sensitive=False),
              help="Twilio's OptOutType field, as sent when Advanced Opt-Out is on")
@click.option("--at", "at_", metavar="DATETIME", callback=_moment,
              help="the moment the text arrives, e.g. 2026-11-28T03:00 (London time unless it has an offset); "
                   "default now")
@click.option("--language", metavar="CODE", help="the language the texter picked earlier (e.g. pl)")
@click.option("--file", "path", metavar="PATH",
              help="decide from this keywords file (one being edited) instead of the live version")
def simulate(text: str, from_: str, to: str, optout_type: str | None, at_: datetime, language: str | None,
             path: str | None) -> None:
    """Print the decision and the exact reply for TEXT, without sending or recording anything."""
    sender = phone.classify(from_)
    book, source = _book_to_simulate(path)
    if language is not None:
        kset = book.sets[book.number_config(to).set]
        offered = tuple(kset.languages) or (kset.language,)
        language = language.strip().lower()
        if language not in offered:
            raise click.BadParameter(f"{language!r} is not offered by set {kset.name} (offered: "
                                     f"{', '.join(offered)})", param_hint="'--language'")
    decision = engine.decide(book, text, to, optout_type, at=at_, language=language)
    click.echo(f"keywords: {source}")
    click.echo(f"decision: {decision.kind}  keyword: {decision.keyword}  match: {decision.match}  "
               f"language: {decision.language}  danger: {decision.danger}  opt-out change: {decision.opt_change}")
    click.echo(f"language chosen: {decision.language_chosen or '(none: the text picked no language)'}")
    opening = "none for this reply" if decision.open is None else hours.state(decision.open, decision.opens, at_)
    click.echo(f"at: {at_.astimezone(hours.LONDON):%a %d %b %Y %H:%M:%S %Z} (Europe/London)  "
               f"opening hours: {opening}")
    if not sender.answerable:
        click.echo(f"reply: (none: {from_!r} cannot receive SMS, {sender.kind})")
        return
    if decision.reply is None:
        click.echo("reply: (none" + (": Twilio confirms it on this number)" if decision.opt_change else ")"))
        return
    info = sms.analyse(decision.reply)
    click.echo(f"reply: {info.chars} characters, {info.encoding}, {info.segments} SMS part(s)")
    click.echo("-" * 40)
    click.echo(decision.reply)
    click.echo("-" * 40)


def _book_to_simulate(path: str | None) -> tuple[KeywordBook, str]:
    """The book a simulation answers from, and what it is: the file given, else the live version."""
    if path is not None:
        try:
            return load_book(path), path
        except KeywordFileError as exc:
            click.echo(str(exc), err=True)
            raise SystemExit(1) from None
    sp = signpost()
    sp.live.expire()  # the version live now, even where this process read one a moment ago
    book = sp.book
    if book is None:
        raise click.ClickException("no keywords loaded: run `keywords check` to see why the file is refused")
    try:
        live = versions.live_number(sp.redis)
    except redis.RedisError as exc:
        return book, (f"{sp.live.describe()} (Redis cannot be reached: {type(exc).__name__}; texters may be "
                      "getting a version published there)")
    if live is None:
        return book, f"{book.source} (the bootstrap file: nothing published)"
    if live != sp.live.number:
        return book, f"{sp.live.describe()} (version {live} is live in Redis but could not be read)"
    return book, f"version {live}, live in Redis"


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(keywords_cli)
    app.cli.add_command(simulate)
