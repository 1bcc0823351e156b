"""Plain values the GitLab REST client returns; no Django, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str
    bot: bool = False


@dataclass(frozen=True)
class MergeRequest:
    project_id: int
    iid: int
    title: str
    description: str
    state: str  # opened | closed | merged | locked
    draft: bool
    web_url: str
    source_branch: str
    target_branch: str
    author_username: str
    author_name: str
    sha: str  # the head commit GitLab knows now
    base_sha: str = ""  # diff_refs; empty until GitLab has prepared the diff
    start_sha: str = ""
    head_sha: str = ""
    prepared_at: str | None = None  # set once GitLab has generated the diff
    author_id: int = 0
    detailed_merge_status: str = ""  # "preparing" while GitLab creates the diff
    reference: str = ""  # references.full: "group/project!342"


@dataclass(frozen=True)
class FileDiff:
    old_path: str
    new_path: str
    diff: str
    new_file: bool = False
    renamed_file: bool = False
    deleted_file: bool = False
    generated_file: bool = False
    too_large: bool = False  # GitLab left the text out (instance diff limits)
    collapsed: bool = False
    left_out: str = ""  # why the forge sent no text for it (GitHub: no patch), else ""


@dataclass(frozen=True)
class Discussion:
    """A diff discussion, by its first note (the one that started it)."""

    id: str
    body: str
    author_id: int
    resolved: bool


@dataclass(frozen=True)
class Note:
    id: int
    body: str
    author_id: int
    author_username: str
    system: bool = False
    created_at: str = ""
    updated_at: str = ""
