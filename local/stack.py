"""Start and stop the whole pipeline on loopback.

Where things run:
- this process: the AWS emulator (moto's server, with Step Functions executing the real ASL), the SQS
  pollers (event source mappings) and the HTTP API front door - the parts AWS itself runs;
- worker processes, a pool per function the template declares (local/workers.py): the functions
  themselves, imported from host-platform builds of their artifacts (made by the Makefile targets
  `sam build` uses) with only their own template environment.
A function is invoked through `lambda_adapter.REGISTRY.invoke(name, event)`, whoever calls it: the
HTTP front door, a poller, or Step Functions through the emulator's Lambda Invoke.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backend_env import LocalBackends, calls_backends, store_keys
from .template import ROOT, load_template
from .workers import Listener

log = logging.getLogger("avatarsmith.local")

DEFAULT_DEMO_CREDITS = 1_000_000  # AVATARSMITH_DEMO_CREDITS overrides it for the demo tenant
DEFAULT_CONCURRENCY = 8  # worker processes per function at most (AVATARSMITH_LOCAL_CONCURRENCY)
SQS_POLLERS = 5  # batches in flight per SQS event source at most (Lambda's starts with five pollers)

_FAKE_AWS_ENV = {  # the credentials are the stack's own (local/emulator_auth.py)
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_DISABLED": "1",
}


def stable_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999), so that a port kept in a state folder
    is unlikely to be taken by some outgoing connection when the stack starts again."""
    import random

    for _ in range(50):
        port = random.randint(20000, 32000)  # a port number, not a secret
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def _check_port_free(port: int, state_dir: Path | None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            where = (
                f", kept in {state_dir}/emulator.json so that image links survive restarts,"
                if state_dir
                else ""
            )
            raise StackConfigError(
                f"the emulator's port {port}{where} is in use: stop what uses it (links handed out before"
                " stay valid), or start on another state folder (AVATARSMITH_STATE_DIR)"
            ) from exc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StackConfigError(RuntimeError):
    """The stack cannot start as configured (the message names the setting)."""


@dataclass
class StackInfo:
    api_url: str
    moto_url: str
    api_key: str
    tenant_id: str
    environment: dict[str, str] = field(default_factory=dict)
    event_watch_queue_url: str = ""  # receives a copy of every job event on the bus


class EmbeddedStack:
    """moto server (Step Functions executing the real ASL) + pollers + HTTP API in this process, and
    the functions in worker processes.

    `extra_env` is added to every function's environment (local settings such as
    AVATARSMITH_ALLOW_LOOPBACK_URLS, or a parameter's variable overridden for a test); `template_path`
    runs a changed template (tests: a variable or a dependency left out); `invocation_listeners` are
    called after every invocation with (function, request id, handler milliseconds, error type)."""

    def __init__(
        self,
        *,
        api_port: int = 3000,
        moto_port: int | None = None,
        api_key: str | None = None,
        parameter_overrides: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
        state_file: Path | None = None,
        state_dir: Path | None = None,
        template_path: Path | None = None,
        concurrency: int | None = None,
        invocation_listeners: list[Listener] | None = None,
        watch_events: bool = True,
        backends: LocalBackends | None = None,
    ):
        self.watch_events = watch_events
        self.template_path = template_path
        self.concurrency = concurrency or int(
            os.environ.get("AVATARSMITH_LOCAL_CONCURRENCY") or DEFAULT_CONCURRENCY
        )
        self.invocation_listeners = invocation_listeners if invocation_listeners is not None else []
        self._artifacts: Path | None = None
        self.api_port = api_port
        self.state_dir = state_dir  # durable state (make run); None: the stack starts empty, keeps nothing
        # The emulator's credentials and port: kept in the state folder, so links signed before a restart
        # (presigned image URLs) still point at the emulator and still verify after it.
        saved_port: int | None = None
        if state_dir is not None:
            from .emulator_auth import load_settings

            self.credentials, saved_port = load_settings(state_dir)
        else:
            from .emulator_auth import EmulatorCredentials

            self.credentials = EmulatorCredentials.generate()
        self.moto_port = moto_port or saved_port or stable_port()
        self.api_key = api_key
        # Real backends (local/backend_env.py): their template parameters, keys and Bedrock variables.
        self.backends = backends or LocalBackends()
        self.parameter_overrides = {
            "EnableTestBackends": "true",
            **self.backends.parameters,
            **(parameter_overrides or {}),
        }
        self.extra_env = extra_env or {}
        self._saved_env: dict[str, str | None] = {}
        self._pollers: list[Any] = []
        self._server: Any = None
        self._api: Any = None
        self.info: StackInfo | None = None
        self.state_file = state_file  # where `avatarsmith-admin --local` finds this stack (make run only)
        self._schedules: list[Any] = []
        self._job_events: Any = None
        self.recovered: dict[str, Any] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> StackInfo:
        moto_url = f"http://127.0.0.1:{self.moto_port}"
        _check_port_free(self.moto_port, self.state_dir)
        if self.state_dir is not None:
            from .emulator_auth import save_settings
            from .private_files import make_private_dir, tighten

            make_private_dir(self.state_dir)
            tighten(self.state_dir)
            save_settings(self.state_dir, self.credentials, self.moto_port)
        self._set_env(
            {
                **_FAKE_AWS_ENV,
                **self.credentials.environment(),
                "AWS_ENDPOINT_URL": moto_url,
                "MOTO_PORT": str(self.moto_port),
                **self.extra_env,
            }
        )
        self._quiet_logs()
        from moto.core.config import default_user_config

        from .emulator_server import EmulatorServer

        default_user_config.update(
            {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
        )
        if self.state_dir is not None:
            from .durable import durable_moto_server

            self._server = durable_moto_server(
                "127.0.0.1", self.moto_port, self.state_dir, credentials=self.credentials
            )
        else:
            self._server = EmulatorServer("127.0.0.1", self.moto_port, credentials=self.credentials)
        self._server.start()
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()  # moto's backends are per process: a new stack starts empty
        from . import lambda_adapter, moto_speedups

        lambda_adapter.install()
        moto_speedups.install()
        try:
            return self._provision_and_serve(moto_url)
        except BaseException:
            self.stop()
            raise

    def _provision_and_serve(self, moto_url: str) -> StackInfo:
        import boto3

        from avatarsmith.config import clear_settings_cache
        from avatarsmith.dal.clients import reset_clients

        from .http_adapter import ApiServer
        from .poller import SqsPoller
        from .provision import provision

        session = boto3.session.Session()
        template = load_template(self.template_path) if self.template_path else load_template()
        if self.backends.keys is not None:
            store_keys(session, self.backends.keys)  # the secret BackendSecretName names, as on AWS
        provisioned = provision(session, template, self.parameter_overrides)
        self._start_workers(provisioned, moto_url)
        self._set_env({**provisioned.environment, **self.extra_env})
        clear_settings_cache()
        reset_clients()
        _reset_handler_caches()
        # -- durable state: reload the table and bucket before anything reads them ----------------------
        if self.state_dir is not None:
            from . import durable

            self.recovered = durable.recover(moto_url)
            tenant_id, api_key = durable.demo_tenant(
                self.state_dir, lambda: self._create_demo_tenant(provisioned)
            )
            if self.api_key and self.api_key != api_key:
                api_key = self._honour_api_key(provisioned, tenant_id, self.api_key)
        else:
            tenant_id, api_key = self._create_demo_tenant(provisioned)
        from .event_watch import subscribe_watch_queue
        from .template import execution_starters, resources_of_type

        bus_id = next(iter(resources_of_type(template, "AWS::Events::EventBus")))
        # A copy of every job event, for whoever reads it (make run's printer, tests). Nobody reading
        # it means a queue that only grows, and moto's SendMessage cost grows with the queue.
        watch_url = subscribe_watch_queue(session, provisioned.refs[bus_id]) if self.watch_events else ""

        sqs = session.client("sqs")
        starters = execution_starters(template)
        for name, decl in provisioned.functions.items():
            admit = self._workflow_has_room(template) if name in starters else None
            for queue_id, batch_size in decl.sqs_sources():
                # Like Lambda's event source mapping, several batches are in flight at once (up to five,
                # never more than the function's concurrency), so one slow batch does not hold the queue up.
                for _ in range(min(SQS_POLLERS, self._concurrency_of(decl))):
                    poller = SqsPoller(
                        sqs,
                        function_name=name,
                        queue_url=provisioned.refs[queue_id],
                        queue_arn=provisioned.attrs[(queue_id, "Arn")],
                        batch_size=batch_size,
                        admit=admit,
                    )
                    poller.start()
                    self._pollers.append(poller)
        self._start_schedules(provisioned)
        api_function = next(n for n, d in provisioned.functions.items() if d.http_routes())
        self._api = ApiServer(
            function_name=api_function,
            routes=provisioned.functions[api_function].http_routes(),
            port=self.api_port,
            waits=self._front_door_waits(session, provisioned.refs[bus_id]),
        )
        self._api.start()
        self.info = StackInfo(
            api_url=f"http://127.0.0.1:{self._api.port}",
            moto_url=moto_url,
            api_key=api_key,
            tenant_id=tenant_id,
            environment=provisioned.environment,
            event_watch_queue_url=watch_url,
        )
        if self.state_file is not None:
            self._write_state_file(self.state_file, self.info)
        return self.info

    def _front_door_waits(self, session: Any, bus_name: str) -> Any:
        """Long-polls wait in the front door, woken by their job's event (local/waiting.py)."""
        from . import waiting

        self._job_events = waiting.JobEvents(
            session.client("sqs"), waiting.subscribe_queue(session, bus_name)
        )
        self._job_events.start()
        return waiting.FrontDoorWaits(self._job_events)

    @staticmethod
    def _workflow_has_room(template: dict[str, Any]) -> Any:
        """Admission for the event sources of functions that start executions (the dispatcher).

        Lambda scales out; this machine's worker pools do not. Every execution started while the
        functions the workflows invoke are saturated would only queue for a worker, and that wait counts
        against its task's TimeoutSeconds: a backlog would turn into timeouts instead of waiting in its
        queue. So the dispatcher's pollers take a new batch only while those pools have at most one
        invocation queued per worker; the backlog stays in SQS, where it is durable and costs nothing."""
        from .lambda_adapter import REGISTRY
        from .template import workflow_functions

        names = sorted(workflow_functions(template))

        def has_room() -> bool:
            for name in names:
                pool = REGISTRY.pool(name)
                if pool is not None and pool.waiting > pool.concurrency:
                    return False
            return True

        return has_room

    def _start_schedules(self, provisioned: Any) -> None:
        """The template's Schedule events; with durable state, an immediate first sweep: after a crash no
        message is in any queue and no execution exists, so unfinished jobs are re-driven at once."""
        from .scheduler import Schedule

        for name, decl in provisioned.functions.items():
            for period in decl.schedules():
                first = {"queued_grace_seconds": 0} if self.state_dir is not None else None
                schedule = Schedule(name, period, first_run=first)
                schedule.start()
                self._schedules.append(schedule)

    def _start_workers(self, provisioned: Any, moto_url: str) -> None:
        """Build every artifact for this machine, then a worker pool per function."""
        from . import metering
        from . import waiting as front_door_waits
        from .artifacts import build_artifacts, function_sys_path
        from .lambda_adapter import REGISTRY
        from .workers import WorkerPool, runtime_environment

        (ROOT / ".build-cache").mkdir(exist_ok=True)
        remove_orphaned_builds(ROOT / ".build-cache")
        self._artifacts = Path(tempfile.mkdtemp(prefix="local-stack-", dir=ROOT / ".build-cache"))
        (self._artifacts / OWNER_FILE).write_text(str(os.getpid()))
        build_artifacts(self._artifacts, platform="host", template=self.template_path)
        for name, decl in provisioned.functions.items():
            environment = runtime_environment(
                name,
                handler=decl.handler,
                task_root=str(self._artifacts / name),
                memory=decl.memory,
                timeout=decl.timeout,
                region=_FAKE_AWS_ENV["AWS_REGION"],
                endpoint_url=moto_url,
                credentials=self.credentials.environment(),
            )
            environment.update({k: provisioned.resolve(v) for k, v in decl.environment.items()})
            if decl.http_routes():  # the front door holds long-polls, not this function's workers
                environment.update(front_door_waits.FUNCTION_ENVIRONMENT)
            if os.environ.get(metering.METER_FILE_ENV):  # `make cost`: the workers measure each invocation
                environment[metering.METER_FILE_ENV] = os.environ[metering.METER_FILE_ENV]
            environment.update(self.extra_env)
            if calls_backends(decl.environment):
                environment.update(self.backends.bedrock_env)
            pool = WorkerPool(
                name,
                handler=decl.handler,
                sys_path=function_sys_path(self._artifacts, name, decl.layers),
                environment=environment,
                timeout=decl.timeout,
                concurrency=self._concurrency_of(decl),
                listeners=self.invocation_listeners,
            )
            REGISTRY.register_pool(name, pool)

    def _concurrency_of(self, decl: Any) -> int:
        return max(1, min(self.concurrency, decl.reserved_concurrency or self.concurrency))

    def _write_state_file(self, path: Path, info: StackInfo) -> None:
        from .private_files import write_private

        state = {
            "api_url": info.api_url,
            "moto_url": info.moto_url,
            "region": _FAKE_AWS_ENV["AWS_REGION"],
            "table_name": info.environment["TABLE_NAME"],
            "images_bucket_name": info.environment["IMAGES_BUCKET_NAME"],
            "demo_tenant_id": info.tenant_id,
            "state_dir": None if self.state_dir is None else str(self.state_dir),
            "pid": os.getpid(),
            # `avatarsmith-admin --local` signs its calls with the stack's credentials: the file is 0600
            **{k.lower(): v for k, v in self.credentials.environment().items()},
        }
        write_private(path, json.dumps(state, indent=2) + "\n")

    def _create_demo_tenant(self, provisioned: Any) -> tuple[str, str]:
        from avatarsmith.logic.tenant_admin import TenantAdmin

        credits = int(os.environ.get("AVATARSMITH_DEMO_CREDITS") or DEFAULT_DEMO_CREDITS)
        created = TenantAdmin.for_table(provisioned.environment["TABLE_NAME"]).create_tenant(
            "demo", credits=credits, api_key=self.api_key
        )
        return created["tenant_id"], created["api_key"]

    def _honour_api_key(self, provisioned: Any, tenant_id: str, api_key: str) -> str:
        """An explicit AVATARSMITH_API_KEY on a state folder made with another key: it becomes a key of
        the demo tenant too (the folder's first key keeps working), or the start fails naming it."""
        from avatarsmith.logic.tenant_admin import AdminError, TenantAdmin

        admin = TenantAdmin.for_table(provisioned.environment["TABLE_NAME"])
        try:
            admin.ensure_key(tenant_id, api_key)
        except AdminError as exc:
            raise StackConfigError(
                f"AVATARSMITH_API_KEY cannot be used with the state folder {self.state_dir}: {exc} "
                "(choose another key, or unset AVATARSMITH_API_KEY to use the demo key)"
            ) from exc
        return api_key

    def add_tenant(self, name: str, *, credits: int = DEFAULT_DEMO_CREDITS, **limits: int) -> tuple[str, str]:
        """A further tenant with its own key (tests use it to check isolation and credit races)."""
        from avatarsmith.logic.tenant_admin import TenantAdmin
        from avatarsmith.models.billing import TenantLimits

        assert self.info is not None
        created = TenantAdmin.for_table(self.info.environment["TABLE_NAME"]).create_tenant(
            name, credits=credits, limits=TenantLimits(**limits)
        )
        return created["tenant_id"], created["api_key"]

    def stop(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            self.state_file.unlink()
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._job_events is not None:
            self._job_events.stop()
            self._job_events = None
        for schedule in self._schedules:
            schedule.stop()
        self._schedules.clear()
        for poller in self._pollers:
            poller.request_stop()  # all at once: each may be in a long poll
        for poller in self._pollers:
            poller.stop()
        self._pollers.clear()
        from . import lambda_adapter

        lambda_adapter.REGISTRY.close_pools()
        lambda_adapter.uninstall()
        from . import moto_speedups

        moto_speedups.uninstall()
        if self._artifacts is not None:
            shutil.rmtree(self._artifacts, ignore_errors=True)
            self._artifacts = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._restore_env()

    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------------------------------
    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        from avatarsmith.config import clear_settings_cache
        from avatarsmith.dal.clients import reset_clients

        clear_settings_cache()
        reset_clients()
        _reset_handler_caches()

    @staticmethod
    def _quiet_logs() -> None:
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)


OWNER_FILE = "owner.pid"  # in a stack's artifacts folder: the process that stops it and removes it


def remove_orphaned_builds(cache: Path) -> list[Path]:
    """Remove the artifacts folders of stacks whose process is gone (killed, so never stopped)."""
    removed = []
    for folder in cache.glob("local-stack-*"):
        try:
            pid = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # being created, or not ours to judge
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except PermissionError:
            pass  # alive, someone else's
    return removed


def _reset_handler_caches() -> None:
    """Handlers cache their Services per container; a new stack is a new 'container'."""
    import sys

    from avatarsmith.logic.auth import clear_auth_cache

    clear_auth_cache()
    for module_name in (
        "functions.api.app",
        "functions.processor.app",
        "functions.notifier.app",
        "functions.reaper.app",
    ):
        module = sys.modules.get(module_name)
        if module is not None:
            module.get_services.cache_clear()
