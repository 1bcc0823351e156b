"""The fake GitLab's former module name, kept as an alias of the `tests.fakes.gitlab`
package: the tests import it, and the benchmarks start ``python -m tests.fakes.gitlab_server``."""

from tests.fakes.gitlab import (
    DEFAULT_TOKEN,
    DEMO_IID,
    DEMO_PATH,
    DEMO_PROJECT_ID,
    FIXTURES,
    NOTE_MAX,
    FakeGitLab,
    RecordedRequest,
    bench_head_sha,
    fixture_answer,
    load_fixture,
)
from tests.fakes.gitlab.standalone import main

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
    "main",
]

if __name__ == "__main__":
    main()
