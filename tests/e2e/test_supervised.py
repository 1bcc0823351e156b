"""The worker as `make run` runs it, under supervisord: killed mid-run, it is restarted, and
the run it held is recovered from Dify (no second Dify run) instead of hanging until the
app's run timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub import processes
from integrations.models import Run, WorkerHeartbeat
from integrations.runs.create import create_run
from tests.e2e.conftest import purge_test_queues
from tests.e2e.processes import ROOT, environment, wait_for
from tests.fakes import dify as fd

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Supervisor:
    """supervisord running only the worker program of hub/processes.py."""

    def __init__(self, tmp_path: Path) -> None:
        worker = [p for p in processes.programs(Path(sys.executable).parent, env={})][1]
        text = processes.supervisord_conf(
            [worker], directory=str(ROOT), run_dir=str(tmp_path), foreground=True
        )
        self.conf = tmp_path / "supervisord.conf"
        self.conf.write_text(text)
        self.log = tmp_path / "supervisord.out"
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "supervisord"), "-n", "-c", str(self.conf)],
            cwd=ROOT,
            env=environment(),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pid(self) -> int:
        name = WorkerHeartbeat.objects.filter(name__startswith="worker1@")
        row = name.order_by("-started_at").first()
        return row.pid if row else 0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def supervised(tmp_path, transactional_db):
    purge_test_queues()
    supervisor = Supervisor(tmp_path)
    yield supervisor
    supervisor.stop()


def test_a_killed_worker_is_restarted_and_its_run_recovered_from_dify(
    fake_dify, dify_app, supervised
):
    wait_for(supervised.worker_pid, 60, what="the supervised worker to beat")
    first_pid = supervised.worker_pid()
    fake_dify.script("run", fd.slow(3.0, ping_interval=0.2))
    run = create_run(
        dify_app, kind=Run.Kind.MANUAL, source="e2e", inputs={"query": "hi"}, dify_user="hub:e2e"
    )
    wait_for(
        lambda: Run.objects.get(pk=run.pk).dify_workflow_run_id, 30, what="Dify to start the run"
    )
    assert Run.objects.get(pk=run.pk).holder.endswith(f":{first_pid}")

    os.kill(first_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: Run.objects.get(pk=run.pk).is_final, 60, what="the recovered run")
    recovered_in = time.monotonic() - killed_at

    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert run.outputs["echo"] == "hi"
    assert len(fake_dify.requests_to("/workflows/run")) == 1  # reconciled, not re-POSTed
    assert "exited: worker-1 (terminated by SIGKILL" in supervised.output()
    assert supervised.worker_pid() not in (0, first_pid)  # supervisord started a new one
    # Far inside the app's run timeout (1500 s): the restarted worker recovered it at once.
    assert recovered_in < 60
