"""The embedded file broker survives its folders going away."""

from __future__ import annotations

import shutil

import pytest
from kombu import Connection


@pytest.fixture
def broker(tmp_path):
    folder = tmp_path / "broker"
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    with Connection(
        "filesystem://localhost//",
        transport="integrations.broker:Transport",
        transport_options=options,
    ) as connection:
        yield connection, folder


def test_a_deleted_folder_is_created_again_for_the_next_message(broker):
    connection, folder = broker
    queue = connection.SimpleQueue("runs")
    queue.put({"run": 1})
    assert queue.get(timeout=1).payload == {"run": 1}

    shutil.rmtree(folder)
    queue.put({"run": 2})  # stock kombu: ChannelError, the publish is lost
    assert queue.get(timeout=1).payload == {"run": 2}
    assert (folder / "queue").is_dir()
    queue.close()


def test_an_unreadable_folder_reads_as_empty_instead_of_crashing_the_worker(broker, caplog):
    connection, folder = broker
    queue = connection.SimpleQueue("runs")
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "queue").write_text("not a folder")  # what a botched restore leaves, say

    with pytest.raises(queue.Empty):
        queue.get(timeout=0.2)
    assert any("cannot read" in r.getMessage() for r in caplog.records)
    queue.close()
