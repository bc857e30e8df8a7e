"""`flask --app wsgi users create|list|disable` and `flask --app wsgi keywords export|import`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from gateway import versions
from gateway.cli import keywords_cli
from gateway.console import audit, users
from gateway.keywordbook import KeywordFileError
from gateway.runtime import signpost

users_cli = AppGroup("users", help="Staff console users.")


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(users.ROLES), help="editor, operator or admin")
def create_user(name: str, role: str) -> None:
    """Create a user; the password is read from stdin (prompted for on a terminal), 12 characters or more."""
    password = _read_password()
    r = signpost().redis
    try:
        user = users.create(r, name, role, password)
    except users.UserError as exc:
        click.echo(f"not created: {exc}", err=True)
        raise SystemExit(1) from None
    audit.record(r, "cli", "user-created", f"{user.name} role={user.role}")
    click.echo(f"created {user.name} ({user.role})")


@users_cli.command("list")
def list_users() -> None:
    """Every user with role and state."""
    for user in users.all_users(signpost().redis):
        click.echo(f"{user.name}\t{user.role}\t{'disabled' if user.disabled else 'active'}")


@users_cli.command("disable")
@click.argument("name")
def disable_user(name: str) -> None:
    """Disable a user: they cannot sign in and their open sessions end."""
    r = signpost().redis
    user = users.set_disabled(r, name, True)
    if user is None:
        click.echo(f"no user {name}", err=True)
        raise SystemExit(1)
    audit.record(r, "cli", "user-disabled", user.name)
    click.echo(f"disabled {user.name}")


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
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--message", "-m", default="", help="what changed (kept with the version)")
def import_(path: str, message: str) -> None:
    """Check PATH and publish it as a new live version (served everywhere within 2 seconds)."""
    sp = signpost()
    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    try:
        version = versions.publish(sp.redis, text, "cli", message or f"imported {path}",
                                   sp.live.bootstrap_text, source=path)
    except KeywordFileError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    audit.record(sp.redis, "cli", "published", f"version {version.number}: {version.message}")
    click.echo(f"published version {version.number}")


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(keywords_cli)
