"""A review's line comments as GitLab diff discussions (a text position on the new line).

Before posting, the MR's discussions are read: every comment the bot already made (its
hidden fingerprint) is left out, so a re-review repeats none and a retried delivery posts
nothing twice; a failure halfway is finished by the retry. On a re-review, the bot's earlier
discussions the new review no longer raises are resolved (the endpoint's setting, on by
default). At most 50 comments a run (``inline.MAX_COMMENTS``) stay far under GitLab's default
limit of 300 notes a minute per user.
"""

from __future__ import annotations

from integrations.channels.base import Message, Reply
from integrations.forges.inline import InlineComment, comment_body, fingerprint_of
from integrations.forges.review_comments import inline_comments
from integrations.gitlab import review
from integrations.gitlab.review import merge_request_of
from integrations.models import Delivery, ReviewEndpoint, Run
from integrations.runs.delivery import TargetGone

LINES_KIND = review.LINES_KIND


class LineDiscussionSender:
    """Looks like a chat transport to the delivery code: build() then post() each part."""

    def __init__(self, endpoint: ReviewEndpoint, run: Run) -> None:
        self.endpoint = endpoint
        self.run = run
        self.event = merge_request_of(run)
        self.read = (run.context or {}).get("read") or {}

    def build(self, message: Message) -> list[dict]:
        return [{"discussions": "line comments"}]

    def post(self, part: dict) -> Reply:
        placed = inline_comments(self.run)[0]
        project, iid = self.event.project_id, self.event.iid
        with self.endpoint.client() as gitlab:
            mine = {
                fp: d
                for d in gitlab.discussions(project, iid)
                if (fp := fingerprint_of(d.body)) and self._by_bot(d.author_id)
            }
            new = [c for c in placed if c.fingerprint not in mine]
            for comment in new:
                gitlab.create_discussion(
                    project, iid, comment_body(comment, gitlab=True), self._position(comment)
                )
            current = {c.fingerprint for c in placed}
            stale = (
                [d for fp, d in mine.items() if fp not in current and not d.resolved]
                if self.endpoint.resolve_stale_comments
                else []
            )
            for discussion in stale:
                gitlab.resolve_discussion(project, iid, discussion.id)
        words = [f"{len(new)} line comments posted"]
        if len(placed) > len(new):
            words.append(f"{len(placed) - len(new)} already there")
        if stale:
            words.append(f"{len(stale)} stale ones resolved")
        return Reply(201 if new else 200, ", ".join(words))

    def _by_bot(self, author_id: int) -> bool:
        return self.endpoint.bot_user_id is None or author_id == self.endpoint.bot_user_id

    def _position(self, comment: InlineComment) -> dict:
        old_paths = (self.run.context or {}).get("old_paths") or {}
        return {
            "position_type": "text",
            "base_sha": self.read.get("base_sha", ""),
            "start_sha": self.read.get("start_sha", ""),
            "head_sha": self.read.get("head_sha", ""),
            "new_path": comment.path,
            "old_path": old_paths.get(comment.path, comment.path),
            "new_line": comment.line,
        }


def sender_for(delivery: Delivery) -> LineDiscussionSender:
    run = delivery.run
    if run.review_endpoint is None:
        raise TargetGone("the GitLab endpoint was deleted.")
    return LineDiscussionSender(run.review_endpoint, run)
