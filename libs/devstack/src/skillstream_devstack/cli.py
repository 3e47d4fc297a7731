"""``skillstream``: the operator's command line.

Commands: ``up`` (start the stack), ``streams`` (event streams and their state), ``projections`` (active
generation, checkpoints, lag), ``replay`` (blue/green rebuild), ``dlq list|retry|discard`` (dead letters),
``token`` (mint a JWT for the gateway).
Connections: ``NATS_URL`` / ``DATABASE_URL`` from the environment, else the embedded stack that
``skillstream up`` recorded in ``<DATA_DIR>/stack.json`` (:mod:`skillstream_runtime.cliclient`, which
commands of service packages use too). Installed services add sub-commands through the ``skillstream.cli``
entry point group (e.g. ``skillstream tga``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from importlib.metadata import entry_points
from typing import Annotated, Any, TypeVar

import nats.js.errors
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from skillstream_contracts.streams import ALL_STREAMS
from skillstream_devstack import discovery
from skillstream_gateway.tokens import (
    DEFAULT_AUDIENCE,
    DEFAULT_ISSUER,
    ROLE_PERMISSIONS,
    dev_secret,
    dev_subject,
    mint_token,
    parse_ttl,
)
from skillstream_runtime import deadletters, generations
from skillstream_runtime.cliclient import connect, console
from skillstream_runtime.eventstore import ensure_stream
from skillstream_runtime.settings import Settings

app = typer.Typer(help="Skillstream operator commands.", no_args_is_help=True, pretty_exceptions_show_locals=False)
dlq_app = typer.Typer(help="Dead-lettered events of projections.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@app.command()
def up(
    service: Annotated[list[str] | None, typer.Option("--service", "-s", help="only these services")] = None,
    nats_port: Annotated[int | None, typer.Option(help="embedded NATS port (default 4222 if free)")] = None,
    http_base_port: Annotated[
        int | None,
        typer.Option(help="first HTTP port: the services, then the sandboxes, then NATS monitoring, consecutively"),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="exit once every service has been healthy")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="once healthy, run the demo jobs on the sandboxes")] = False,
) -> None:
    """Start the stack: embedded NATS and PostgreSQL (unless NATS_URL / DATABASE_URL are set) and every
    service, supervised, until Ctrl-C."""
    from skillstream_devstack.stack import run_stack
    from skillstream_runtime.errors import SkillstreamRuntimeError

    try:
        code = run_stack(
            Settings(),
            services=service,
            nats_port=nats_port,
            http_base_port=http_base_port,
            console=console,
            stop_after_healthy=check,
            demo=demo,
        )
    except SkillstreamRuntimeError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    raise typer.Exit(code)


@app.command()
def streams(
    ensure: Annotated[bool, typer.Option(help="create or update every stream first")] = False,
) -> None:
    """Show every event stream: subjects, messages, bytes, last sequence, consumers."""

    async def go() -> None:
        async with connect(Settings(), database=False) as (nc, _):
            js = nc.jetstream()
            table = Table("stream", "subjects", "messages", "bytes", "last seq", "consumers", title="Event streams")
            for definition in ALL_STREAMS:
                if ensure:
                    await ensure_stream(nc, definition)
                try:
                    info = await js.stream_info(definition.name)
                except nats.js.errors.NotFoundError:
                    table.add_row(definition.name, ", ".join(definition.subjects), "[dim]not created[/]", "", "", "")
                    continue
                s = info.state
                table.add_row(
                    definition.name,
                    ", ".join(definition.subjects),
                    f"{s.messages:,}",
                    f"{s.bytes:,}",
                    str(s.last_seq),
                    str(s.consumer_count),
                )
            console.print(table)

    _run(go())


@app.command()
def projections() -> None:
    """Show every projection: active generation, checkpoint per stream and lag (events its consumer has still
    to deliver or see acknowledged; without a consumer yet, stream last sequence minus checkpoint)."""

    async def go() -> None:
        async with connect(Settings()) as (nc, pool):
            assert pool is not None
            js = nc.jetstream()
            table = Table("projection", "generation", "stream", "checkpoint", "stream last", "lag", title="Projections")
            for name, projection in discovery.projections().items():
                gen = await generations.active_generation(pool, projection)
                cps = await generations.checkpoints(pool, name, gen)
                for stream in projection.sources:
                    last = (await js.stream_info(stream)).state.last_seq
                    cp = cps.get(stream, 0)
                    lag = await generations.pending_events(nc, name, gen, stream)
                    lag = max(0, last - cp) if lag is None else lag
                    table.add_row(name, str(gen), stream, str(cp), str(last), str(lag))
            console.print(table)

    _run(go())


class _RemainingColumn(TimeRemainingColumn):
    """The time a stream's replay has left, or ``done`` once it is replayed."""

    def render(self, task: Task) -> Text:
        return Text("done", style="progress.remaining") if task.finished else super().render(task)


def _stream_bars(bar: Progress, name: str) -> generations.ProgressCallback:
    """A rebuild's progress callback: one bar per source stream of projection ``name``, stream sequence applied
    of the stream's last; an empty stream is done at once (``0/0``)."""
    tasks: dict[str, TaskID] = {}

    def report(stream: str, done: int, last: int) -> None:
        if stream not in tasks:
            tasks[stream] = bar.add_task(f"{name} ← {stream}", total=last)
        bar.update(tasks[stream], completed=min(done, last), total=last)

    return report


@app.command()
def replay(
    projection: Annotated[str | None, typer.Argument(help="projection name (see `skillstream projections`)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="rebuild every projection")] = False,
) -> None:
    """Rebuild projections from stream sequence 1 into fresh tables and swap them in atomically; the old
    tables keep serving reads until the swap."""
    known = discovery.projections()
    if all_:
        names = list(known)
    elif projection:
        if projection not in known:
            console.print(f"[red]Unknown projection {projection!r}; known: {', '.join(known) or 'none'}[/]")
            raise typer.Exit(2)
        names = [projection]
    else:
        console.print("[red]Name a projection or pass --all.[/]")
        raise typer.Exit(2)

    async def go() -> None:
        async with connect(Settings()) as (nc, pool):
            assert pool is not None
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                _RemainingColumn(),
                console=console,
            ) as bar:
                for name in names:
                    report = _stream_bars(bar, name)
                    gen = await generations.rebuild(known[name], nc, pool, on_progress=report)
                    bar.console.print(f"[green]{name}[/]: generation {gen} swapped in")

    _run(go())


@dlq_app.command("list")
def dlq_list(projection: Annotated[str | None, typer.Option(help="only this projection")] = None) -> None:
    """List dead-lettered events with their error."""

    async def go() -> None:
        async with connect(Settings()) as (_, pool):
            assert pool is not None
            rows = await deadletters.list_dead_letters(pool, projection)
            table = Table(
                "id",
                "projection",
                "stream",
                "seq",
                "type",
                "attempts",
                "failed at",
                "error",
                title=f"Dead letters ({len(rows)})",
            )
            for r in rows:
                table.add_row(
                    str(r.id),
                    r.projection,
                    r.stream,
                    str(r.stream_sequence),
                    r.event_type or "?",
                    str(r.attempts),
                    r.failed_at.isoformat(timespec="seconds"),
                    r.error,
                )
            console.print(table)

    _run(go())


@dlq_app.command("retry")
def dlq_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="dead letter ids")] = None,
    all_: Annotated[bool, typer.Option("--all", help="retry every dead letter")] = False,
) -> None:
    """Re-apply dead letters through their projection (after fixing the cause); exits 1 if any fails again."""
    if not ids and not all_:
        console.print("[red]Give dead letter ids or --all.[/]")
        raise typer.Exit(2)

    async def go() -> int:
        async with connect(Settings()) as (_, pool):
            assert pool is not None
            outcomes = await deadletters.retry_dead_letters(pool, discovery.projections(), None if all_ else ids)
            for o in outcomes:
                console.print(f"{o.id}: [green]applied[/]" if o.ok else f"{o.id}: [red]failed again[/] {o.error}")
            return 0 if all(o.ok for o in outcomes) else 1

    raise typer.Exit(_run(go()))


@dlq_app.command("discard")
def dlq_discard(ids: Annotated[list[int], typer.Argument(help="dead letter ids")]) -> None:
    """Delete dead letters for good (the events stay in their stream)."""

    async def go() -> None:
        async with connect(Settings()) as (_, pool):
            assert pool is not None
            n = await deadletters.discard_dead_letters(pool, ids)
            console.print(f"discarded {n} dead letter(s)")

    _run(go())


class _TokenSettings(Settings):
    """The gateway's JWT settings that ``skillstream token`` must agree with (same env / ``.env``)."""

    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = DEFAULT_ISSUER
    jwt_audience: str = DEFAULT_AUDIENCE


@app.command()
def token(
    role: Annotated[
        list[str], typer.Option("--role", "-r", help=f"role to grant (repeatable): {', '.join(ROLE_PERMISSIONS)}")
    ],
    ttl: Annotated[str, typer.Option(help="lifetime: 45s, 30m, 8h, 2d or seconds")] = "8h",
    subject: Annotated[
        str | None,
        typer.Option(
            help="the token's `sub`, who jobs name as their requester (default: dev-<first role>, e.g. dev-admin)"
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="display name (`name` claim)")] = None,
) -> None:
    """Print a gateway JWT (HS256) on stdout: signed with JWT_SECRET when set, else the local development
    secret in <DATA_DIR>/dev-jwt-secret (created on first use); issuer/audience JWT_ISSUER/JWT_AUDIENCE."""
    err = Console(stderr=True)
    unknown = sorted(set(role) - ROLE_PERMISSIONS.keys())
    if unknown:
        err.print(f"[red]Unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLE_PERMISSIONS)}[/]")
        raise typer.Exit(2)
    try:
        ttl_seconds = parse_ttl(ttl)
    except ValueError as e:
        err.print(f"[red]--ttl: {e}[/]")
        raise typer.Exit(2) from e
    settings = _TokenSettings()
    if settings.jwt_public_key:
        err.print(
            "[yellow]JWT_PUBLIC_KEY is set: the gateway verifies RS256 tokens from your identity provider and "
            "will refuse this HS256 token.[/]"
        )
    key = settings.jwt_secret.get_secret_value() if settings.jwt_secret else dev_secret(settings.data_dir)
    typer.echo(
        mint_token(
            key,
            subject=subject or dev_subject(role[0]),
            roles=role,
            ttl_seconds=ttl_seconds,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            name=name,
        )
    )


def _add_plugins() -> None:
    """Sub-commands of installed services (entry points ``skillstream.cli``: name → a ``typer.Typer``),
    e.g. ``skillstream tga parse``; one that fails to load is reported and left out."""
    for ep in entry_points(group="skillstream.cli"):
        try:
            app.add_typer(ep.load(), name=ep.name)
        except Exception as e:  # noqa: BLE001 - a broken plugin must not take the core commands down
            console.print(f"[yellow]skillstream {ep.name}: not available ({type(e).__name__}: {e})[/]")


def main() -> None:
    _add_plugins()
    app()


__all__ = ["app", "main"]
