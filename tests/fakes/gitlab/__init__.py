"""A local fake of GitLab's REST API (``/api/v4``): the parts the merge-request reviewer uses.

Real HTTP/1.1 on 127.0.0.1 (an ephemeral port unless told otherwise), stdlib only, on the
shared fake base (tests/fakes/base.py). Answers follow GitLab's documented contract and are
built from the JSON templates in ``tests/fixtures/gitlab/api/`` (copied field for field from
GitLab's API docs and entities):

* ``GET /user`` - the token's user (a project bot, ``"bot": true``);
* ``GET /projects/:id/merge_requests/:iid`` (+ ``/versions`` newest first, + ``/diffs``);
* ``GET|POST /projects/:id/merge_requests/:iid/notes``, ``GET|PUT …/notes/:note_id``.

``:id`` is the numeric id or the URL-encoded path (``payments%2Fbilling-service``); an
unencoded path does not match any route, as on GitLab. Lists are paginated like GitLab
(``page``/``per_page``, default 20, max 100) with ``x-page``, ``x-per-page``,
``x-next-page``, ``x-prev-page``, ``x-total``, ``x-total-pages`` and a ``Link`` header.
Auth: ``PRIVATE-TOKEN``, ``Authorization: Bearer`` or ``?private_token=``; otherwise
401 ``{"message":"401 Unauthorized"}``.

In tests::

    with FakeGitLab() as gitlab:
        gitlab.add_merge_request(files=[{"path": "a.py", "diff": "@@ -1 +1 @@\\n-a\\n+b\\n"}])
        gitlab.fail_next("GET", "/diffs", 429, retry_after=2)
        gitlab.diff_not_ready(1187, 342, times=2)
        client = GitLabClient(gitlab.url, gitlab.token)
        ...
        gitlab.requests            # what the client sent (lower-cased headers)
        gitlab.notes_of(1187, 342)  # the notes as GitLab would list them

Standalone, for trying the hub by hand (serves until Ctrl-C, prints every note posted)::

    python -m tests.fakes.gitlab --port 5003 --token glpat-demo

and point a GitLab endpoint at the printed URL with token ``glpat-demo``; the demo MR is
project 1187 ``payments/billing-service`` !342 with two changed files.

The modules: ``app`` (state and the test API), ``routes`` (the endpoints), ``entities``
(GitLab's JSON shapes), ``answers`` (errors and scripted answers), ``fixtures`` (the recorded
templates), ``handler`` (HTTP), ``standalone`` (the command line).
"""

from tests.fakes.gitlab.app import DEFAULT_TOKEN, DEMO_IID, DEMO_PATH, DEMO_PROJECT_ID, FakeGitLab
from tests.fakes.gitlab.fixtures import FIXTURES, bench_head_sha, fixture_answer, load_fixture
from tests.fakes.gitlab.handler import RecordedRequest
from tests.fakes.gitlab.routes import NOTE_MAX

__all__ = [
    "DEFAULT_TOKEN",
    "DEMO_IID",
    "DEMO_PATH",
    "DEMO_PROJECT_ID",
    "FIXTURES",
    "NOTE_MAX",
    "FakeGitLab",
    "RecordedRequest",
    "bench_head_sha",
    "fixture_answer",
    "load_fixture",
]
