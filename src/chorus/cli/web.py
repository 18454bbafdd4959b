"""The web app: its accounts (``chorus users``) and ``chorus serve``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

import chorus
from chorus.cli.common import OutOption, console, open_study, show
from chorus.errors import ChorusError
from chorus.web import users as web_users

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

users_app = typer.Typer(help="Accounts of the web app, with their role: owner, coder or viewer.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The account's name (their codings are under the coder of this name).")],
    role: Annotated[str, typer.Option(help="owner, coder or viewer.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input (for scripts).")] = False,
) -> None:
    """Create an account; there is no default password, so you give one now."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_study() as study:
        web_users.add_user(study, name, password, role)
    console.print(f"user {name!r} added as {role}")


@users_app.command("list")
def users_list(out: OutOption = None) -> None:
    """The accounts and their roles."""
    with open_study() as study:
        show(web_users.users(study), "Users", out)


@users_app.command("role")
def users_role(name: str, role: str) -> None:
    """Change what a user may do (owner, coder, viewer)."""
    with open_study() as study:
        web_users.set_role(study, name, role)
    console.print(f"{name} is now {role}")


@users_app.command("deactivate")
def users_deactivate(name: str) -> None:
    """Stop an account from signing in; its next request in the web app is refused (its codings stay)."""
    with open_study() as study:
        web_users.set_active(study, name, False)
    console.print(f"{name} is deactivated")


@users_app.command("activate")
def users_activate(name: str) -> None:
    """Let a deactivated account sign in again."""
    with open_study() as study:
        web_users.set_active(study, name, True)
    console.print(f"{name} can sign in again")


@users_app.command("unlock")
def users_unlock(
    name: Annotated[Optional[str], typer.Argument(help="The account whose sign-in is locked after failed attempts.")] = None,
    address: Annotated[Optional[str], typer.Option(help="Unlock this client address instead (every name tried from it).")] = None,
) -> None:
    """Let an account (or an address) whose sign-in failed too often try again at once."""
    from chorus.web import signin

    with open_study() as study:
        signin.unlock(study, name=name, address=address, by=study.actor)
    console.print(f"{name or address} may sign in again")


@users_app.command("reset-password")
def users_reset_password(
    name: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the new password from standard input (for scripts).")] = False,
) -> None:
    """Give an account a new password (any reset link made in the browser stops working)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_study() as study:
        web_users.set_password(study, name, password)
    console.print(f"{name} has a new password")


def _transport(host: str, certfile: Path | None, keyfile: Path | None, insecure_http: bool, options: dict[str, object]) -> str:
    """``https`` with the certificate added to uvicorn's ``options``, or ``http``: refused where other machines would reach it."""
    import ipaddress

    if (certfile is None) != (keyfile is None):
        raise ChorusError("HTTPS needs both --certfile and --keyfile")
    if certfile is not None and keyfile is not None:
        for path in (certfile, keyfile):
            if not path.is_file():
                raise ChorusError(f"{path}: no such file (a PEM certificate or key)")
        options.update(ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
        return "https"
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not insecure_http:
        raise ChorusError(
            f"--host {host} lets other machines reach Chorus over plain HTTP, where passwords and what participants said travel "
            "in the clear: give --certfile and --keyfile, or serve on 127.0.0.1 behind a TLS proxy (the docs: How-to, Run a team server), "
            "or say --insecure-http"
        )
    return "http"


def _keys_folder(keys: Path | None, served: list[Path]) -> str | None:
    """The key folder as the server keeps it, refused inside anything it serves."""
    if keys is None:
        return None
    for folder in served:
        if keys.resolve().is_relative_to(folder.resolve()):
            raise ChorusError(f"--keys {keys} is inside {folder}; key files hold what de-identification removed: keep them outside every study")
    return str(keys.resolve())


@commands.command()
def serve(
    studies: Annotated[Optional[list[Path]], typer.Argument(help="Study folders to serve together (default: this study).")] = None,
    home: Annotated[
        Optional[Path], typer.Option(help="A folder of studies, created in the browser: the first run prints a one-time setup link.")
    ] = None,
    db: Annotated[
        Optional[str], typer.Option(help="With --home: the server's PostgreSQL (postgresql://user@host/db) for studies created there.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[bool, typer.Option(help="Mark session cookies Secure (behind an HTTPS proxy).")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Server processes answering requests (a team on a machine with more cores).")] = 1,
    threads: Annotated[
        int, typer.Option(min=1, help="Requests each server process works on at once; more wait their turn (few answer a team faster).")
    ] = 8,
    keys: Annotated[
        Optional[Path], typer.Option(help="Folder outside every study for de-identification key files made in the browser.")
    ] = None,
    cluster: Annotated[
        Optional[str], typer.Option(help="Transcribe uploaded recordings on this Dask cluster (tcp://host:8786), as chorus transcribe does.")
    ] = None,
    lock_after: Annotated[int, typer.Option(min=1, help="Failed sign-ins in a row that lock an account (for --lock-minutes).")] = 10,
    lock_minutes: Annotated[float, typer.Option(min=0.1, help="How long a locked account or address waits, unless an owner unlocks it.")] = 15.0,
    idle_minutes: Annotated[float, typer.Option(min=1, help="A session ends after this long without a request.")] = 30.0,
    session_hours: Annotated[float, typer.Option(min=0.1, help="A session ends this long after sign-in, however busy.")] = 12.0,
    upload_stall: Annotated[
        float, typer.Option(min=1, help="Seconds an upload may send nothing before it is cut off (408), so slow ones cannot hold the server.")
    ] = 30.0,
    certfile: Annotated[Optional[Path], typer.Option(help="Serve HTTPS with this TLS certificate (PEM; with --keyfile).")] = None,
    keyfile: Annotated[Optional[Path], typer.Option(help="The private key of --certfile (PEM).")] = None,
    insecure_http: Annotated[
        bool, typer.Option(help="Serve plain HTTP on an address other machines reach (only behind a TLS proxy on a network you trust).")
    ] = False,
) -> None:
    """Start the web app on this study, on several with a page listing them, or on a home of studies made in the browser.

    Work started in the browser (transcribing uploaded recordings, finding
    what to de-identify, evaluating the AI) is done by as many background
    worker processes as --workers names, at lowered priority; jobs a stopped
    server left running are queued again at start.
    """
    import json
    import multiprocessing
    import os
    from dataclasses import asdict

    import uvicorn

    from chorus.study import jobs
    from chorus.web.app import SERVE_SETTINGS, create_home_server, create_server, job_worker
    from chorus.web.home import SETUP_MINUTES, Home
    from chorus.web.security import Policy
    from chorus.web.signin import Throttle

    policy = Policy(Throttle(lock_after=lock_after, lock_minutes=lock_minutes), idle_minutes, session_hours, upload_stall, threads)
    processes = f", {workers} worker processes" if workers > 1 else ""
    # pages listening to the change stream (chorus.web.routes.live) hold a response open: a stop waits for them this long, then ends them
    options: dict[str, object] = {"host": host, "port": port, "log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5}
    scheme = _transport(host, certfile, keyfile, insecure_http, options)
    secure_cookies = secure_cookies or scheme == "https"
    if home is not None:
        if studies:
            raise ChorusError("give either study folders or --home, not both")
        the_home = Home(home, db)
        settings = {"home": str(the_home.folder), "db": db, "secure_cookies": secure_cookies, "keys": _keys_folder(keys, [the_home.folder])}
        console.print(f"Chorus on {scheme}://{host}:{port} (studies in {the_home.folder}{processes}); stop with Ctrl-C")
        if not the_home.has_owner():
            link = f"{scheme}://{host}:{port}/setup?token={the_home.setup_token()}"
            console.print(f"First run: open this link once, within {SETUP_MINUTES} minutes, to create the owner:")
            console.print(link, soft_wrap=True, markup=False, highlight=False)
        app_now = create_home_server(the_home, secure_cookies=secure_cookies, keys=keys, policy=policy) if workers == 1 else None
        served = [the_home.study(slug) for slug, _ in the_home.studies()]
    else:
        if db is not None:
            raise ChorusError("--db names the server's database for studies created under --home; a study's own store is in its folder")
        opened = [chorus.open(folder) for folder in studies] if studies else [open_study()]
        for study in opened:
            if web_users.users(study).empty:
                raise ChorusError(f"no accounts yet in {study.folder}; create one first: chorus users add NAME --role owner")
        settings = {"studies": [str(s.folder.resolve()) for s in opened], "secure_cookies": secure_cookies,
                    "keys": _keys_folder(keys, [s.folder for s in opened])}
        console.print(f"Chorus on {scheme}://{host}:{port} ({', '.join(s.name for s in opened)}{processes}); stop with Ctrl-C")
        app_now = create_server(opened, secure_cookies=secure_cookies, keys=keys, policy=policy) if workers == 1 else None
        served = opened
    settings["cluster"], settings["policy"] = cluster, asdict(policy)
    requeued = sum(jobs.recover(study) for study in served)  # the studies this process opened already
    if requeued:
        console.print(f"{requeued} transcription job(s) left running when the server stopped: queued again")
    spawn = multiprocessing.get_context("spawn")
    job_workers = [spawn.Process(target=job_worker, args=(json.dumps(settings), os.getpid()), daemon=True) for _ in range(workers)]
    for worker in job_workers:
        worker.start()
    try:
        if app_now is not None:
            uvicorn.run(app_now, **options)
            return
        os.environ[SERVE_SETTINGS] = json.dumps(settings)
        uvicorn.run("chorus.web.app:server_from_environment", factory=True, workers=workers, **options)
    finally:
        for worker in job_workers:
            worker.terminate()
        for worker in job_workers:
            worker.join(timeout=10)


