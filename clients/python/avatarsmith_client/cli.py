"""`avatarsmith`: the command-line client. JSON on stdout when it is not a terminal (or with --json);
a live progress line on a terminal. Exit codes: 0 ok, 1 the job failed or was canceled, 2 usage,
3 invalid request, 4 unauthorized, 5 insufficient credits, 6 not found, 7 rate limited,
8 server or connection error, 9 timeout."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from . import errors
from ._sync import Client, Job

EXIT_CODES: list[tuple[type[errors.AvatarsmithError], int]] = [
    (errors.JobFailed, 1),
    (errors.Unauthorized, 4),
    (errors.InsufficientCredits, 5),
    (errors.NotFound, 6),
    (errors.RateLimited, 7),
    (errors.ServerError, 8),
    (errors.ConnectionFailed, 8),
    (errors.Timeout, 9),
    (errors.AvatarsmithError, 3),
]


def exit_code_for(exc: errors.AvatarsmithError) -> int:
    return next(code for cls, code in EXIT_CODES if isinstance(exc, cls))


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


class Progress:
    """A one-line live display on a terminal: status, elapsed seconds, variations done."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.started = time.monotonic()
        self.job: Job | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def update(self, job: Job) -> None:
        self.job = job

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        if self.job is None:
            return f"submitting…  {elapsed:5.1f}s"
        done = sum(1 for a in self.job.avatars if a.status == "completed")
        total = len(self.job.avatars) or "?"
        return f"{self.job.id}  {self.job.status:<10} {elapsed:5.1f}s  {done}/{total} variations"

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.stream.write("\r\033[K" + self._line())
            self.stream.flush()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.stream.write("\r\033[K" + self._line() + "\n")
        self.stream.flush()


OUTPUT_DIR_HELP = (
    "a folder, always (created with its parents when missing): one file per variation, named "
    "<job_id>-<index>.<ext>; a path that is an existing file is refused (exit 2) before anything is sent"
)


class UsageError(Exception):
    """A command line that cannot be carried out (exit 2, nothing sent)."""


def output_folder(path: str | None) -> Path | None:
    """`-o DIR` as a folder that exists (made here when missing), checked before the job is submitted."""
    if path is None:
        return None
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {path}: this is a file; -o takes a folder (one file per variation goes in it)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot create this folder ({exc.strerror})") from exc
    return folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatarsmith", description="Avatarsmith API client")
    parser.add_argument("--base-url", help="API base URL (default: $AVATARSMITH_BASE_URL)")
    parser.add_argument("--api-key", help="API key (default: $AVATARSMITH_API_KEY)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds for one API call")
    parser.add_argument("--json", action="store_true", help="print JSON even on a terminal")
    sub = parser.add_subparsers(dest="command", required=True)
    # `--json` is accepted after the command too (`avatarsmith generate "..." --json`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    gen = sub.add_parser("generate", parents=[common], help="generate avatars from a prompt")
    gen.add_argument("prompt")
    gen.add_argument("--style")
    gen.add_argument("--model")
    gen.add_argument("--num", type=int, dest="num_variations", help="variations (1-4)")
    gen.add_argument("--aspect-ratio", choices=["1:1", "16:9", "9:16", "4:3", "3:4"])
    gen.add_argument("--seed", type=int)
    gen.add_argument("--ref", action="append", default=[], metavar="FILE_OR_URL", help="reference photo")
    gen.add_argument("--wait", action="store_true", help="wait for the job to finish")
    gen.add_argument("--wait-timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    gen.add_argument("-o", "--output-dir", metavar="DIR", help=OUTPUT_DIR_HELP + " (implies --wait)")

    jobs = sub.add_parser("jobs", help="list, read, wait for or cancel jobs").add_subparsers(
        dest="action", required=True
    )
    listing = jobs.add_parser("list", parents=[common])
    listing.add_argument("--status", choices=["queued", "processing", "completed", "failed", "canceled"])
    listing.add_argument("--limit", type=int, default=20)
    for name in ("get", "wait", "cancel"):
        one = jobs.add_parser(name, parents=[common])
        one.add_argument("job_id")
        if name == "wait":
            one.add_argument("--wait-timeout", type=float, default=600.0)
            one.add_argument("-o", "--output-dir", metavar="DIR", help=OUTPUT_DIR_HELP)

    avatars = sub.add_parser("avatars", help="saved avatars").add_subparsers(dest="action", required=True)
    save = avatars.add_parser("save", parents=[common])
    save.add_argument("job_id")
    save.add_argument("--label", required=True)
    save.add_argument("--variation", type=int)
    avatars.add_parser("list", parents=[common]).add_argument("--limit", type=int, default=20)
    avatars.add_parser("get", parents=[common]).add_argument("avatar_id")
    avatars.add_parser("publish", parents=[common]).add_argument("avatar_id")

    for name in ("styles", "models", "account"):
        sub.add_parser(name, parents=[common], help=f"show {name}")
    return parser


class Cli:
    def __init__(self, args: argparse.Namespace, client: Client, out: TextIO, err: TextIO):
        self.args = args
        self.client = client
        self.out = out
        self.err = err
        self.as_json = bool(args.json) or not out.isatty()

    def emit(self, value: Any, human: Callable[[], Iterator[str]]) -> None:
        if self.as_json:
            self.out.write(json.dumps(_dump(value), indent=2) + "\n")
        else:
            for line in human():
                self.out.write(line + "\n")

    def _wait(self, job: Job, timeout: float) -> Job:
        if self.err.isatty() and not self.args.json:
            with Progress(self.err) as progress:
                progress.update(job)
                return job.wait(timeout=timeout, on_update=progress.update)
        return job.wait(timeout=timeout)

    def _finish(self, job: Job, output_dir: Path | None) -> int:
        files = [str(a.download(output_dir)) for a in job.avatars if a.image_url] if output_dir else []
        payload = {**_dump(job), "files": files} if files else job

        def human() -> Iterator[str]:
            yield f"{job.id}  {job.status}  credits charged {job.credits.charged}"
            if job.error:
                yield f"  error: {job.error.code}: {job.error.message}"
            for a in job.avatars:
                yield f"  [{a.index}] {a.status}  {a.image_url or ''}"
            yield from (f"  saved {f}" for f in files)

        self.emit(payload, human)
        return 0 if job.status in ("completed", "queued", "processing") else 1

    def generate(self) -> int:
        a = self.args
        folder = output_folder(a.output_dir)
        fields: dict[str, Any] = {"seed": a.seed}
        if a.aspect_ratio:
            fields["output"] = {"aspect_ratio": a.aspect_ratio}
        style: str | int | None = int(a.style) if a.style and a.style.isdigit() else a.style
        waiting = bool(a.wait or folder)
        # Waiting in a script: one call (`Prefer: wait`) answers with the finished job. On a terminal the
        # live progress line needs the job's status as it goes, so the job is read every second instead.
        live = self.err.isatty() and not self.args.json
        started = time.monotonic()
        job = self.client.generate(
            a.prompt,
            style=style,
            model=a.model,
            num_variations=a.num_variations,
            reference_images=a.ref or None,
            submit_wait=waiting and not live,
            timeout=a.wait_timeout if waiting else None,
            **fields,
        )
        if waiting and not job.done:  # 202: the job is still running; poll with progress
            job = self._wait(job, max(0.0, a.wait_timeout - (time.monotonic() - started)))
        return self._finish(job, folder)

    def jobs(self) -> int:
        a = self.args
        if a.action == "list":
            found = list(self.client.jobs.list(status=a.status, limit=a.limit, page_size=min(100, a.limit)))
            self.emit(found, lambda: (f"{j.id}  {j.status:<10} {j.created_at}  {j.model}" for j in found))
            return 0
        if a.action == "get":
            return self._finish(self.client.jobs.get(a.job_id), None)
        if a.action == "cancel":
            return self._finish(self.client.jobs.cancel(a.job_id), None)
        folder = output_folder(a.output_dir)
        job = self.client.jobs.get(a.job_id)
        return self._finish(self._wait(job, a.wait_timeout), folder)

    def avatars(self) -> int:
        a = self.args
        if a.action == "list":
            found = list(self.client.avatars.list(limit=a.limit, page_size=min(100, a.limit)))
            self.emit(found, lambda: (f"{v.id}  {v.label}  {v.job_id}#{v.variation}" for v in found))
            return 0
        if a.action == "save":
            avatar = self.client.avatars.save(a.job_id, label=a.label, variation=a.variation)
        elif a.action == "publish":
            avatar = self.client.avatars.publish(a.avatar_id)
        else:
            avatar = self.client.avatars.get(a.avatar_id)
        self.emit(avatar, lambda: iter([f"{avatar.id}  {avatar.label}  {avatar.image_url}"]))
        return 0

    def catalog(self) -> int:
        command = self.args.command
        if command == "styles":
            styles = self.client.styles()
            self.emit(styles, lambda: (f"{s.id:>3}  {s.name:<16} {s.description}" for s in styles))
        elif command == "models":
            models = self.client.models()
            self.emit(
                models,
                lambda: (
                    f"{m.id:<28} {m.credits_per_variation:>3} credits{'  (default)' if m.default else ''}"
                    for m in models
                ),
            )
        else:
            account = self.client.account()
            self.emit(account, lambda: iter([f"{account.tenant_id}  balance {account.balance} credits"]))
        return 0


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    client = Client(base_url=args.base_url, api_key=args.api_key, timeout=args.timeout)
    cli = Cli(args, client, out, err)
    handlers = {"generate": cli.generate, "jobs": cli.jobs, "avatars": cli.avatars}
    try:
        return handlers.get(args.command, cli.catalog)()
    except errors.AvatarsmithError as exc:
        err.write(f"avatarsmith: {exc}\n")
        return exit_code_for(exc)
    except UsageError as exc:
        err.write(f"avatarsmith: {exc}\n")
        return 2
    except KeyboardInterrupt:
        err.write("avatarsmith: interrupted\n")
        return 130
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
