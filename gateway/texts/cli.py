"""`flask --app wsgi texter show|forget NUMBER`: one texter's records, for an access or erasure request."""

from __future__ import annotations

import json
import re
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup

from gateway import phone
from gateway.console import audit
from gateway.runtime import signpost
from gateway.texts import records

texter_cli = AppGroup("texter", help="One texter's records: show them (access request) or forget them (erasure).")


# A sender the service could not answer (cut off, or in no allocated range) still has its texts kept, under the
# number exactly as Twilio gave it: digits, perhaps after a +.
_UNANSWERED_NUMBER = re.compile(r"^\+?\d{4,20}$")


def _texter_number(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """NUMBER as the service stores a texter's number (E.164, or as Twilio gave an unanswerable one)."""
    sender = phone.classify(value)
    if sender.e164 is not None:
        return sender.e164
    if sender.kind in ("invalid", "local_only") and _UNANSWERED_NUMBER.match(value.strip()):
        return sender.shown
    shown = json.dumps(value[:phone.SHOWN_MAX], ensure_ascii=False)
    raise click.BadParameter(f"{shown} is not a phone number a texter could text from ({sender.kind}); "
                             "give it as +447911000123 or 07911 000123", ctx, param)


def _unanswerable_note(number: str) -> None:
    if phone.classify(number).e164 is None:
        click.echo(f"({number} cannot be answered by SMS: its records are kept under the number as Twilio gave it)")


def _staff_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    name = value.strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise click.BadParameter("give your name (up to 64 printable characters) for the audit log", ctx, param)
    return name


@texter_cli.command("show")
@click.argument("number", callback=_texter_number)
@click.option("--by", required=True, metavar="NAME", callback=_staff_name,
              help="who is looking (recorded in the audit log: the relay cases' texts are printed)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of text")
def show_texter(number: str, by: str, as_json: bool) -> None:
    """Print every record held tied to NUMBER: message log, language, opt-outs, relay cases with their texts."""
    sp = signpost()
    found = records.held(sp.redis, sp.settings, number)
    audit.record(sp.redis, f"cli:{by}", "texter-shown", phone.mask(number))
    if as_json:
        # ASCII with escapes: still JSON, and nothing a texter wrote can act on the terminal.
        click.echo(json.dumps(records.as_json(found), indent=2))
    else:
        _unanswerable_note(number)
        click.echo("\n".join(records.as_text(found)))


@texter_cli.command("forget")
@click.argument("number", callback=_texter_number)
@click.option("--by", required=True, metavar="NAME", callback=_staff_name,
              help="who is running this (recorded in the audit log)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def forget_texter(number: str, by: str, yes: bool) -> None:
    """Delete NUMBER's message-log entries, language and closed relay cases; opt-outs are kept."""
    sp = signpost()
    found = records.held(sp.redis, sp.settings, number)
    if found.open_cases:
        _refuse_open([case.id for case in found.open_cases])
    _unanswerable_note(number)
    click.echo(f"{number}: {len(found.messages)} message-log entries, language {found.language or 'none'}, "
               f"{len(found.closed_cases)} closed relay cases to delete.")
    kept = f" (from {', '.join(found.optouts)})" if found.optouts else " (none held)"
    click.echo(f"Opt-outs are kept{kept}: deleting one would start texting someone who said STOP.")
    if found.deletable() and not yes:
        click.confirm("Delete these records?", abort=True)
    try:
        done = records.forget(sp.redis, sp.settings, number)
    except records.OpenCaseError as exc:  # a case opened since the look above
        _refuse_open(exc.case_ids)
    audit.record(sp.redis, f"cli:{by}", "texter-forgotten", f"{phone.mask(number)}: {done.summary()}")
    click.echo(done.summary())


def _refuse_open(case_ids: list[str]) -> NoReturn:
    click.echo(f"not forgotten: open relay case {', '.join(case_ids)}. The control room must close it first "
               f"(CLOSE <id> from a control-room phone, or Close in the console's relay inbox); nothing was deleted.",
               err=True)
    raise SystemExit(1)


def register(app: Flask) -> None:
    """Attach the texter commands to the app."""
    app.cli.add_command(texter_cli)
