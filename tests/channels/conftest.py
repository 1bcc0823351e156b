"""Shared fixtures for the transport tests (no Django, no database)."""

from __future__ import annotations


def pytest_generate_tests(metafunc):
    """Give each contract test one run per answer listed on the test class."""
    cls = metafunc.cls
    for argument, attribute in (
        ("permanent_answer", "permanent_answers"),
        ("transient_answer", "transient_answers"),
    ):
        if cls is not None and argument in metafunc.fixturenames:
            metafunc.parametrize(argument, getattr(cls, attribute, ()))
