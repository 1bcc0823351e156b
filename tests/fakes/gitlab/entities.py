"""The fake GitLab's merge requests and how they read back: GitLab's API entities
(MergeRequest, MergeRequestDiff version, Diff, UserBasic), built on the fixture templates."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.gitlab.fixtures import sha, template

_FILE_FLAGS = (
    "new_file",
    "renamed_file",
    "deleted_file",
    "generated_file",
    "too_large",
    "collapsed",
)


@dataclass
class Version:
    id: int
    head_sha: str
    base_sha: str
    start_sha: str
    created_at: str
    files: list[dict]


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    path: str
    title: str
    description: str
    state: str
    draft: bool
    source_branch: str
    target_branch: str
    author: dict
    created_at: str
    updated_at: str
    versions: list[Version] = field(default_factory=list)  # oldest first
    notes: list[dict] = field(default_factory=list)  # creation order
    discussions: list[dict] = field(default_factory=list)  # diff discussions, creation order
    not_ready: int = 0  # reads left that find the diff not generated yet


# -- users ---------------------------------------------------------------------------------


def basic_user(user: dict, instance_url: str) -> dict:
    """A UserBasic entity (as in ``author``) for ``{"id", "username", "name"}``."""
    username = user.get("username") or f"user{user.get('id', 0)}"
    return {
        "id": int(user.get("id", 0)),
        "username": username,
        "name": user.get("name") or username,
        "state": user.get("state", "active"),
        "locked": False,
        "avatar_url": user.get("avatar_url")
        or f"{instance_url}/uploads/-/system/user/avatar/{user.get('id', 0)}/avatar.png",
        "web_url": f"{instance_url}/{username}",
    }


# -- changed files -------------------------------------------------------------------------


def default_files() -> list[dict]:
    """The demo MR's two files (from the diffs fixture), without their ---/+++ headers."""
    return [_strip_header(f) for f in template("diffs_page")[:2]]


def normalise_file(file: Any) -> dict:
    """A file as the fake stores it, from a FileDiff or a dict (see ``add_merge_request``)."""
    if dataclasses.is_dataclass(file) and not isinstance(file, type):
        file = dataclasses.asdict(file)
    if not isinstance(file, dict):
        raise TypeError(f"a file must be a FileDiff or a dict, not {type(file).__name__}")
    old = file.get("old_path") or file.get("path") or file.get("new_path")
    new = file.get("new_path") or file.get("path") or old
    if not old or not new:
        raise ValueError(f"a file needs old_path/new_path (or path): {file!r}")
    flags = {key: bool(file.get(key)) for key in _FILE_FLAGS}
    return {
        "old_path": old,
        "new_path": new,
        "diff": ""
        if flags["too_large"] or flags["collapsed"]
        else _hunks_only(file.get("diff") or ""),
        "a_mode": file.get("a_mode") or ("0" if flags["new_file"] else "100644"),
        "b_mode": file.get("b_mode") or ("0" if flags["deleted_file"] else "100644"),
        **flags,
    }


def file_json(file: dict, unidiff: bool) -> dict:
    """The Diff entity (lib/api/entities/diff.rb order); ``unidiff`` adds ---/+++ headers
    exactly as Gitlab::Git::Diff#unidiff does (nothing for an empty diff)."""
    data = template("diffs_page")[0]
    diff = file["diff"]
    if unidiff and diff:
        old = "/dev/null" if file["new_file"] else f"a/{file['old_path']}"
        new = "/dev/null" if file["deleted_file"] else f"b/{file['new_path']}"
        diff = f"--- {old}\n+++ {new}\n" + diff
    data.update({key: file[key] for key in data if key in file}, diff=diff)
    return data


def _strip_header(file: dict) -> dict:
    out = dict(file)
    out["diff"] = _hunks_only(file.get("diff") or "")
    return out


def _hunks_only(diff: str) -> str:
    lines = diff.split("\n", 2)
    if len(lines) >= 2 and lines[0].startswith("--- ") and lines[1].startswith("+++ "):
        return lines[2] if len(lines) > 2 else ""
    return diff


# -- merge requests and their versions -----------------------------------------------------


def mr_json(mr: MergeRequest, instance_url: str, *, ready: bool) -> dict:
    """The MergeRequest entity (GET single); not ``ready``: as GitLab shows an MR whose diff
    it has not generated yet (no diff_refs, no changes_count, merge status "preparing")."""
    data = template("merge_request")
    head = mr.versions[-1]
    ref = f"{mr.path}!{mr.iid}"
    user_notes = sum(1 for n in mr.notes if not n["system"])
    data.update(
        id=mr.id,
        iid=mr.iid,
        project_id=mr.project_id,
        title=mr.title,
        description=mr.description,
        state=mr.state,
        created_at=mr.created_at,
        updated_at=mr.updated_at,
        prepared_at=mr.versions[0].created_at if ready else None,
        target_branch=mr.target_branch,
        source_branch=mr.source_branch,
        user_notes_count=user_notes,
        author=mr.author,
        assignees=[mr.author],
        assignee=mr.author,
        source_project_id=mr.project_id,
        target_project_id=mr.project_id,
        draft=mr.draft,
        work_in_progress=mr.draft,
        merge_status="can_be_merged" if ready else "unchecked",
        detailed_merge_status=_merge_status(mr, ready),
        sha=head.head_sha,
        reference=f"!{mr.iid}",
        references={"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": ref},
        web_url=f"{instance_url}/{mr.path}/-/merge_requests/{mr.iid}",
        changes_count=str(len(head.files)) if ready else None,
        diff_refs={
            "base_sha": head.base_sha,
            "head_sha": head.head_sha,
            "start_sha": head.start_sha,
        }
        if ready
        else None,
    )
    return data


def version_json(mr: MergeRequest, version: Version) -> dict:
    """One MergeRequestDiff as ``/versions`` lists it."""
    data = template("versions")[0]
    data.update(
        id=version.id,
        head_commit_sha=version.head_sha,
        base_commit_sha=version.base_sha,
        start_commit_sha=version.start_sha,
        created_at=version.created_at,
        merge_request_id=mr.id,
        state="collected",
        real_size=str(len(version.files)),
        patch_id_sha=sha(json.dumps(version.files, sort_keys=True)),
    )
    return data


def _merge_status(mr: MergeRequest, ready: bool) -> str:
    if not ready:
        return "preparing"
    if mr.state != "opened":
        return "not_open"
    return "draft_status" if mr.draft else "mergeable"
