"""The local stack's function instances start like Lambda SnapStart environments: the init phase (the
handler's import) runs once per function in a template process, and every instance is a fork of it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local.workers import FunctionError, WorkerPool

HANDLERS = """
import os, random, subprocess, sys, time, uuid

with open(os.environ["IMPORT_LOG"], "a") as log:  # the init phase's side effect
    log.write(f"{os.getpid()}\\n")

def act(event, context):
    if "exit" in event:
        os._exit(event["exit"])
    if "child_pid_file" in event:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        with open(event["child_pid_file"], "w") as out:
            out.write(str(child.pid))
    time.sleep(event.get("sleep", 0))
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "sid": os.getsid(0),
        "uuid": str(uuid.uuid4()),
        "random": random.random(),
    }
"""

BROKEN = """
import os
import signal

with open(os.environ["IMPORT_LOG"], "a") as log:
    log.write(f"{os.getpid()}\\n")
raise RuntimeError("TABLE_NAME is not set")
"""

PoolFor = Callable[..., WorkerPool]


@pytest.fixture
def import_log(tmp_path: Path) -> Path:
    return tmp_path / "imports.log"


@pytest.fixture
def pool_for(tmp_path: Path, import_log: Path) -> Iterator[PoolFor]:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "broken.py").write_text(BROKEN)
    pools: list[WorkerPool] = []

    def make(handler: str = "handlers.act", *, timeout: int = 5, concurrency: int = 4) -> WorkerPool:
        pool = WorkerPool(
            "Probe",
            handler=handler,
            sys_path=[str(tmp_path)],
            environment={"IMPORT_LOG": str(import_log)},
            timeout=timeout,
            concurrency=concurrency,
        )
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def imports(import_log: Path) -> list[int]:
    return [int(line) for line in import_log.read_text().split()] if import_log.exists() else []


def gone(pid: int, within: float = 3.0) -> bool:
    """The process no longer runs (a zombie waiting for an adoptive parent counts as gone)."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return True
        if state == "Z" or time.monotonic() > deadline:
            return state == "Z"
        time.sleep(0.05)


def invoke_together(pool: WorkerPool, count: int, event: dict[str, object]) -> list[dict[str, object]]:
    replies: list[dict[str, object]] = []
    threads = [threading.Thread(target=lambda: replies.append(pool.invoke(event))) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_instances_are_forks_of_one_initialised_template(pool_for: PoolFor, import_log: Path) -> None:
    pool = pool_for(concurrency=4)

    replies = invoke_together(pool, 4, {"sleep": 0.3})  # four at once: four instances

    assert len({reply["pid"] for reply in replies}) == 4
    assert {reply["ppid"] for reply in replies} == {pool.template_pid}
    assert imports(import_log) == [pool.template_pid]  # the handler was imported once, by the template
    assert all(reply["sid"] == reply["pid"] for reply in replies)  # each instance is its own session
    assert len({reply["uuid"] for reply in replies}) == 4
    assert len({reply["random"] for reply in replies}) == 4  # random reseeds in each fork


def test_a_crashed_instance_leaves_the_template_serving(pool_for: PoolFor, import_log: Path) -> None:
    pool = pool_for(concurrency=1)
    first = pool.invoke({})
    template = pool.template_pid

    with pytest.raises(FunctionError) as crashed:
        pool.invoke({"exit": 3})

    assert crashed.value.error_type == "Runtime.ExitError"
    assert "exit status 3" in str(crashed.value)
    assert gone(int(first["pid"]))  # the crashed instance was reaped
    again = pool.invoke({})
    assert again["pid"] != first["pid"]
    assert (pool.template_pid, again["ppid"]) == (template, template)
    assert imports(import_log) == [template]


def test_a_timeout_kills_the_instance_and_its_own_children(pool_for: PoolFor, tmp_path: Path) -> None:
    pool = pool_for(timeout=1)
    instance = pool.invoke({})["pid"]
    child_pid_file = tmp_path / "child.pid"

    with pytest.raises(FunctionError) as caught:
        pool.invoke({"child_pid_file": str(child_pid_file), "sleep": 30})

    assert caught.value.error_type == "Sandbox.Timedout"
    assert gone(int(instance), within=0)
    assert gone(int(child_pid_file.read_text()))  # the handler's own child went with its process group
    assert pool.invoke({})["ppid"] == pool.template_pid


def test_an_import_error_fails_every_invocation_and_leaves_no_process(
    pool_for: PoolFor, import_log: Path
) -> None:
    pool = pool_for("broken.handler")

    for _ in range(2):
        with pytest.raises(FunctionError) as failed:
            pool.invoke({})
        assert failed.value.error_type == "Runtime.ImportModuleError"
        assert "Unable to import module 'broken': TABLE_NAME is not set" in str(failed.value)

    assert len(imports(import_log)) == 2  # each invocation tried the init phase again, as Lambda does
    assert all(gone(pid, within=0) for pid in imports(import_log))
    assert pool.template_pid is None


def test_close_leaves_no_process_behind(pool_for: PoolFor, tmp_path: Path) -> None:
    pool = pool_for(concurrency=3)
    replies = invoke_together(pool, 3, {"sleep": 0.2})
    failures: list[str] = []

    def invoke_until_closed() -> None:
        try:
            pool.invoke({"sleep": 30})
        except FunctionError as exc:
            failures.append(exc.error_type)

    busy = threading.Thread(target=invoke_until_closed)
    busy.start()  # an instance still running a handler when the pool closes
    time.sleep(0.3)
    template = pool.template_pid
    assert template is not None

    pool.close()
    busy.join()

    assert failures == ["Runtime.ExitError"]  # its invocation ends at once, as when the stack stops

    for pid in [template, *(int(reply["pid"]) for reply in replies)]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_prewarm_runs_the_init_phase_and_forks_idle_instances(pool_for: PoolFor, import_log: Path) -> None:
    pool = pool_for(concurrency=2)

    pool.prewarm(instances=5)  # no more than the concurrency
    pool.prewarm(instances=1)  # nor past it on a second call

    assert imports(import_log) == [pool.template_pid]
    assert len(pool._all) == 2
    replies = invoke_together(pool, 2, {"sleep": 0.2})
    assert {reply["ppid"] for reply in replies} == {pool.template_pid}
    assert len({reply["pid"] for reply in replies}) == 2
    with pytest.raises(FunctionError) as failing:
        pool_for("broken.handler").prewarm()
    assert failing.value.error_type == "Runtime.ImportModuleError"


def test_a_template_that_was_killed_is_replaced(pool_for: PoolFor, import_log: Path) -> None:
    pool = pool_for(concurrency=1)
    first = pool.invoke({})
    old_template = pool.template_pid
    assert old_template is not None
    os.kill(old_template, signal.SIGKILL)  # e.g. the OOM killer
    assert gone(old_template)

    assert pool.invoke({})["pid"] == first["pid"]  # the idle instance outlives it
    with pytest.raises(FunctionError) as crashed:
        pool.invoke({"exit": 3})
    assert crashed.value.error_type == "Runtime.ExitError"
    again = pool.invoke({})  # a new instance needs a new template

    assert pool.template_pid not in (None, old_template)
    assert again["ppid"] == pool.template_pid
    assert imports(import_log) == [old_template, pool.template_pid]
