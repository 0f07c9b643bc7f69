"""Checker processes, each running many checks on threads, with deadlines and a restart budget.

OpenCV's FFmpeg backend serialises stream opens in a process unless
``OPENCV_FFMPEG_IS_THREAD_SAFE=1`` is set before it opens anything; with it, one process ran 64
concurrent checks reliably (DESIGN.md), and 128 did not. So a pool is a few spawned processes
that set the variable first (health.worker), each with a bounded thread pool. Each worker has
its own pipe: a worker killed mid-read cannot leave a shared queue's lock held and hang others.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from health.model import CaptureOptions, CheckOutcome, CheckTarget
from health.status import Reason, Status, severity_of
from health.worker import worker_main

log = logging.getLogger(__name__)

# Above this many concurrent opens in one process some opens failed (DESIGN.md, 128 threads).
MAX_THREADS_PER_PROCESS = 64
# A worker must import OpenCV and report ready within this long.
STARTUP_TIMEOUT_S = 60.0
# Slack over a check's own deadline before the parent gives up on it.
DEADLINE_GRACE_S = 3.0

Build = Callable[[], CheckTarget | CheckOutcome]
Key = tuple[int, int]
"""(camera id, attempt): names one check."""
Result = tuple[Key, CheckOutcome | None]


@dataclass(frozen=True)
class PoolSize:
    """How many checker processes, and how many check threads in each."""

    processes: int
    threads: int

    @property
    def concurrency(self) -> int:
        """Return the number of checks that run at once."""
        return self.processes * self.threads


def pool_size(concurrency: int, processes: int, checks: int | None = None) -> PoolSize:
    """Split a concurrency over processes, capping threads per process and idle capacity."""
    concurrency = max(1, concurrency if checks is None else min(concurrency, max(1, checks)))
    procs = max(1, min(processes, concurrency), math.ceil(concurrency / MAX_THREADS_PER_PROCESS))
    return PoolSize(procs, math.ceil(concurrency / procs))


@dataclass
class _Task:
    key: Key
    build: Build
    options: CaptureOptions
    dispatches: int = 0
    target: CheckTarget | None = None


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    started_at: float
    ready: bool = False
    inflight: dict[Key, tuple[_Task, float]] = field(default_factory=dict)


class PoolError(RuntimeError):
    """The checker processes failed beyond their restart budget."""


def failed_outcome(camera_id: int, code: str, message: str) -> CheckOutcome:
    """Return the outcome of a check that the checker itself could not complete in time."""
    from camfleet.timeutil import utcnow

    return CheckOutcome(
        camera_id=camera_id,
        status=Status.NO_VIDEO,
        severity=severity_of(Status.NO_VIDEO),
        reasons=[Reason(code, message)],
        measurements={},
        thumbnail=None,
        started_at=utcnow(),
        duration_s=0.0,
    )


class CheckPool:
    """Run checks on checker processes; results come back through collect()."""

    def __init__(self, size: PoolSize, restart_budget: int | None = None) -> None:
        self.size = size
        self.restart_budget = size.processes * 2 + 2 if restart_budget is None else restart_budget
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._queue: deque[_Task] = deque()
        self._ready: list[Result] = []
        self._closed = False

    def __enter__(self) -> CheckPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the checker processes."""
        for _ in range(self.size.processes):
            self._workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker_main, args=(child, self.size.threads), daemon=True, name="camfleet-check"
        )
        process.start()
        child.close()
        return _Worker(process, parent, time.monotonic())

    def worker_pids(self) -> list[int]:
        """Return the process ids of the live checker processes."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    @property
    def ready(self) -> bool:
        """Return whether every checker process has started and reported ready."""
        return bool(self._workers) and all(w.ready for w in self._workers)

    @property
    def pending(self) -> int:
        """Return the number of checks queued or running."""
        return len(self._queue) + sum(len(w.inflight) for w in self._workers) + len(self._ready)

    def submit(self, key: Key, build: Build, options: CaptureOptions) -> None:
        """Queue a check; build() makes its target (credentials included) just before dispatch."""
        self._queue.append(_Task(key, build, options))

    def drop_queued(self) -> list[Key]:
        """Forget the checks not yet dispatched and return their keys."""
        keys = [t.key for t in self._queue]
        self._queue.clear()
        return keys

    def collect(self, timeout: float) -> list[Result]:
        """Dispatch queued checks and return the results that arrive within timeout seconds.

        A result's outcome is None when the checker lost the check twice (its camera was not
        checked, through no fault of its own).
        """
        self._dispatch()
        if not self._ready:
            self._wait(timeout)
            self._dispatch()
        out, self._ready = self._ready, []
        return out

    def _dispatch(self) -> None:
        """Hand queued checks to ready workers with free threads, least loaded first."""
        free = [
            (len(w.inflight), i)
            for i, w in enumerate(self._workers)
            if w.ready and len(w.inflight) < self.size.threads
        ]
        heapq.heapify(free)
        while self._queue and free:
            load, i = heapq.heappop(free)
            worker = self._workers[i]
            task = self._queue.popleft()
            if task.target is None:
                built = task.build()
                if isinstance(built, CheckOutcome):
                    self._ready.append((task.key, built))
                    heapq.heappush(free, (load, i))
                    continue
                task.target = built
            task.dispatches += 1
            deadline = time.monotonic() + task.options.deadline_s + DEADLINE_GRACE_S
            try:
                worker.conn.send((task.key, task.target, task.options))
            except (BrokenPipeError, OSError):
                self._queue.appendleft(task)
                task.dispatches -= 1
                continue  # the worker died; _wait() notices and replaces it
            worker.inflight[task.key] = (task, deadline)
            if load + 1 < self.size.threads:
                heapq.heappush(free, (load + 1, i))

    def _wait(self, timeout: float) -> None:
        """Wait for messages or worker deaths, then enforce deadlines."""
        handles: list[Any] = []
        for w in self._workers:
            handles.extend((w.conn, w.process.sentinel))
        ready = set(wait(handles, timeout)) if handles else set()
        if not handles:
            time.sleep(min(timeout, 0.05))
        for w in list(self._workers):
            if w.conn in ready:
                self._drain(w)
            if w.process.sentinel in ready or not w.process.is_alive():
                self._drain(w)
                self._replace(w, f"checker process {w.process.pid} exited")
        self._enforce_deadlines()

    def _drain(self, worker: _Worker) -> None:
        """Read every message waiting on a worker's pipe."""
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if message[0] == "ready":
                    worker.ready = True
                elif message[0] == "done":
                    _, key, outcome = message
                    if worker.inflight.pop(key, None) is not None:
                        self._ready.append((key, outcome))
        except (EOFError, OSError):
            pass

    def _enforce_deadlines(self) -> None:
        """Fail checks past their deadline and recycle the worker stuck with them."""
        now = time.monotonic()
        for w in list(self._workers):
            if not w.ready and now - w.started_at > STARTUP_TIMEOUT_S:
                self._replace(w, "checker process did not start in time")
                continue
            late = [task for task, due in w.inflight.values() if due < now]
            if not late:
                continue
            for task in late:
                del w.inflight[task.key]
                camera_id = task.target.camera_id if task.target else -1
                message = f"the check did not finish within {task.options.deadline_s:g} s"
                self._ready.append((task.key, failed_outcome(camera_id, "check_deadline", message)))
            # A thread stuck past its deadline cannot be stopped; the process can.
            self._replace(w, "checker process stuck past a check deadline")

    def _replace(self, worker: _Worker, why: str) -> None:
        """Stop a worker, requeue its checks (once each), and start another within budget."""
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        log.warning("%s; %d checks requeued", why, len(worker.inflight))
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        for task, _ in worker.inflight.values():
            if task.dispatches >= 2:
                self._ready.append((task.key, None))
            else:
                self._queue.appendleft(task)
        if self._closed:
            return
        if self.restarts >= self.restart_budget:
            if not self._workers:
                raise PoolError(f"checker processes failed {self.restarts + 1} times: {why}")
            return
        self.restarts += 1
        self._workers.append(self._spawn())

    def close(self) -> None:
        """Stop every worker; checks still running are abandoned."""
        self._closed = True
        for w in self._workers:
            with contextlib.suppress(BrokenPipeError, OSError):
                w.conn.send(None)
        deadline = time.monotonic() + 1.0
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.conn.close()
        self._workers.clear()
