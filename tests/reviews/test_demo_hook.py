"""The README's try-it-by-hand path for reviews: the fake GitLab started on its own serves the
demo MR at the head the recorded "opened" hook names, so the hook demo_hook.py sends is
reviewed (not ended as superseded, which it always was)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests

from integrations.models import ReviewEndpoint, Run
from tests.fakes import dify as fd
from tests.fakes.gitlab import demo_hook
from tests.reviews.support import execute

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "demo-secret-token-0123456789"


@pytest.fixture
def standalone_gitlab():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gitlab_server", "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/api/v4/version", timeout=1)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the fake GitLab did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_the_demo_hook_is_reviewed(live_server, standalone_gitlab, review_app, review_dify):
    endpoint = ReviewEndpoint(
        name="demo",
        slug="demo",
        app=review_app,
        base_url=standalone_gitlab,
        access_token="glpat-demo",
        output_key="review",
    )
    endpoint.set_secret_token(SECRET)
    endpoint.save()
    review_dify.script("run", fd.success({"review": "Looks fine."}))

    with pytest.raises(SystemExit) as exited:
        demo_hook.main([f"{live_server.url}/hooks/gitlab/demo/", SECRET])
    assert exited.value.code == 0
    run = Run.objects.get()
    execute(run)
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    # Sent again, it is a new delivery of the same head: recorded, not reviewed twice.
    with pytest.raises(SystemExit):
        demo_hook.main([f"{live_server.url}/hooks/gitlab/demo/", SECRET])
    assert Run.objects.count() == 1
