"""`flask --app wsgi users create|list|disable|enable|set-password|unlock`: the staff console's users."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup

from gateway.console import audit, lockout, users
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


def _no_user(name: str) -> NoReturn:
    click.echo(f"no user {users.normalise_name(name)}", err=True)
    raise SystemExit(1)


def _set_disabled(name: str, disabled: bool) -> None:
    action = "disabled" if disabled else "enabled"
    r = signpost().redis
    user = users.set_disabled(r, name, disabled)
    if user is None:
        _no_user(name)
    audit.record(r, "cli", f"user-{action}", user.name)
    click.echo(f"{action} {user.name}")


@users_cli.command("disable")
@click.argument("name")
def disable_user(name: str) -> None:
    """Disable a user: they cannot sign in and every session of theirs ends."""
    _set_disabled(name, True)


@users_cli.command("enable")
@click.argument("name")
def enable_user(name: str) -> None:
    """Enable a disabled user again (sessions from before stay ended)."""
    _set_disabled(name, False)


@users_cli.command("set-password")
@click.argument("name")
def set_password(name: str) -> None:
    """Set a user's password, read from stdin (prompted for on a terminal); every session of theirs ends."""
    password = _read_password()
    r = signpost().redis
    try:
        user = users.set_password(r, name, password)
    except users.UserError as exc:
        click.echo(f"not changed: {exc}", err=True)
        raise SystemExit(1) from None
    audit.record(r, "cli", "password-set", user.name)
    click.echo(f"password set for {user.name}; their sessions have ended")


@users_cli.command("unlock")
@click.argument("name")
def unlock_user(name: str) -> None:
    """Lift a user's sign-in locks (new browsers and each locked browser) after failed sign-ins."""
    r = signpost().redis
    user = users.get(r, name)
    if user is None:
        _no_user(name)
    lockout.unlock(r, user.name)
    audit.record(r, "cli", "user-unlocked", user.name)
    click.echo(f"unlocked {user.name}")
    click.echo(f"(a network address locked after {lockout.MAX_FAILURES} failed sign-ins from it stays locked for new "
               f"browsers until its lock ends, {lockout.LOCK_SECONDS // 60} minutes at most; browsers that have "
               f"signed in before are not affected)")


def register(app: Flask) -> None:
    """Attach the users commands to the app."""
    app.cli.add_command(users_cli)
