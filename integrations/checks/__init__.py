"""'Check connection': each outside service a configuration points at, asked who it is.

One module per kind of configuration (``dify_app``, ``gitlab_endpoint``); each stores what it
learnt on the model and answers with a :class:`CheckReport` for the admin, ``hub check`` and
``hub apply --check``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    summary: str
