"""The processes are defined once (hub/processes.py); make run and deploy/ follow it."""

from __future__ import annotations

import os
from pathlib import Path

from supervisor.options import ServerOptions

from hub import processes

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_is_what_the_definition_generates(tmp_path):
    written = processes.write_deploy(tmp_path)
    for path in written:
        shipped = ROOT / "deploy" / path.relative_to(tmp_path)
        assert shipped.read_text() == path.read_text(), (
            f"{shipped} is stale: run `python -m hub.processes deploy`"
        )
    shipped = sorted(p.relative_to(ROOT / "deploy") for p in (ROOT / "deploy").rglob("*.*"))
    assert shipped == sorted(p.relative_to(tmp_path) for p in written)


def supervisor_config(text: str, tmp_path) -> ServerOptions:
    path = tmp_path / "supervisord.conf"
    path.write_text(text)
    options = ServerOptions()
    options.realize(args=["-c", str(path)])
    return options


def test_make_run_supervises_web_workers_and_beat(tmp_path):
    env = {"HUB_WORKER_PROCESSES": "2"}
    progs = processes.programs("/venv/bin", env=env)
    text = processes.supervisord_conf(
        progs, directory=str(ROOT), run_dir=str(tmp_path), foreground=True
    )
    options = supervisor_config(text, tmp_path)
    groups = {group.name: group.process_configs[0] for group in options.process_group_configs}
    assert list(groups) == ["web", "worker-1", "worker-2", "beat"]
    assert options.nodaemon is True
    for name, config in groups.items():
        assert config.autorestart is not False, name  # restarted whenever it dies
        assert config.startretries >= 1000  # never given up on during an outage
        assert config.killasgroup and config.stopasgroup  # Ctrl-C stops its children too
    # Each worker has its own node name: its runs are recovered by name and pid.
    assert "-n worker1@%h" in groups["worker-1"].command
    assert "-n worker2@%h" in groups["worker-2"].command
    # Workers share pooled connections (settings): nothing forces a reconnect per task.
    assert "HUB_DB_CONN_MAX_AGE" not in groups["worker-1"].environment
    # ...and yield the CPU to the web server, which must answer GitLab in milliseconds.
    assert groups["worker-1"].command.startswith("nice -n 19 /venv/bin/celery")
    assert "nice" not in groups["web"].command


def test_systemd_puts_the_workers_behind_the_web_by_weight_as_well_as_nice(tmp_path):
    # A unit is a cgroup: across units the CPU goes by CPUWeight, not by the threads' nice.
    processes.write_deploy(tmp_path)
    worker = (tmp_path / "systemd" / "dify-hub-worker@.service").read_text()
    web = (tmp_path / "systemd" / "dify-hub-web.service").read_text()
    assert "Nice=19\n" in worker and "CPUWeight=10\n" in worker
    assert "Nice=" not in web and "CPUWeight=" not in web
    assert "nice" not in worker.split("ExecStart=")[1].split()[0]


def test_one_worker_process_per_core_unless_told():
    cores = os.cpu_count() or 1
    assert processes.worker_processes({}) == cores
    assert processes.worker_processes({"HUB_WORKER_PROCESSES": "3"}) == 3
    names = [p.name for p in processes.programs("/venv/bin", env={})]
    assert names == ["web", *[f"worker-{n}" for n in range(1, cores + 1)], "beat"]


def test_command_lines_hold_nothing_machine_specific():
    commands = [" ".join(p.command) for p in processes.programs("/venv/bin", env={})]
    assert not any("--concurrency" in c or "--workers" in c or "--bind" in c for c in commands)
    # ...those are read at start: gunicorn's config file and the worker's settings.
    assert any("hub/gunicorn.conf.py" in c for c in commands)
