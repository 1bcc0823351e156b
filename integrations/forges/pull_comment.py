"""The review as one comment on the pull request's conversation (GitHub, Gitea, Forgejo),
found again by its marker.

Every review of a pull request (through one endpoint) edits the same comment; a retried
delivery finds the comment it may already have posted instead of posting a second one.
"""

from __future__ import annotations

from integrations.channels.base import Message, Reply
from integrations.errors import HubError
from integrations.forges.github.api import COMMENT_LIMIT
from integrations.forges.github.payload import PullRequestEvent
from integrations.forges.inline import fingerprint_of
from integrations.forges.pull_review import pull_request_of
from integrations.forges.review_comments import inline_comments
from integrations.gitlab.note import note_body
from integrations.models import Delivery, ReviewEndpoint
from integrations.runs.delivery import TargetGone

# Room for the marker, heading and footer inside GitHub's 65,536 characters (Gitea takes more).
TEXT_LIMIT = COMMENT_LIMIT - 2_000


def marker(endpoint_slug: str, event: PullRequestEvent) -> str:
    return f"<!-- dify-hub:review endpoint={endpoint_slug} pr={event.merge_request_key} -->"


class CommentSender:
    """Looks like a chat transport to the delivery code: build() then post() each part."""

    def __init__(self, endpoint: ReviewEndpoint, event: PullRequestEvent, run_id: int) -> None:
        self.endpoint = endpoint
        self.event = event
        self.run_id = run_id
        self.mark = marker(endpoint.slug, event)

    def build(self, message: Message) -> list[dict]:
        body = note_body(self.mark, message, self.run_id)
        if len(body) > COMMENT_LIMIT:
            cut = len(body) - TEXT_LIMIT
            text = message.text[: max(0, len(message.text) - cut)]
            text += f"\n\n[… review cut: {cut} more characters]"
            body = note_body(self.mark, Message(text, message.title, message.footer), self.run_id)
        return [{"body": body[:COMMENT_LIMIT]}]

    def post(self, part: dict) -> Reply:
        repository, number = self.event.repository, self.event.number
        with self.endpoint.client(self.event.installation_id) as forge:
            found = self._find(forge)
            if found is not None:
                try:
                    saved = forge.update_comment(repository, found.id, part["body"])
                    return Reply(200, f"updated comment {saved.id}")
                except HubError as exc:
                    if exc.code not in ("not_found", "forbidden"):
                        raise
                    # deleted meanwhile, or not ours after all: post a new one
            saved = forge.create_comment(repository, number, part["body"])
            return Reply(201, f"created comment {saved.id}")

    def _find(self, forge):
        return forge.find_comment(
            self.event.repository, self.event.number, self.mark, author=self.endpoint.bot_username
        )


def sender_for(delivery: Delivery) -> CommentSender:
    run = delivery.run
    endpoint = run.review_endpoint
    if endpoint is None:
        raise TargetGone("the endpoint was deleted.")
    return CommentSender(endpoint, pull_request_of(run), run.pk)


class LineCommentSender:
    """The review's line comments as one forge review, each comment once.

    Before posting, the comments already on the pull request are read and every one the hub
    posted before (its fingerprint: path, lines, text) is left out: a re-review repeats none,
    and a delivery retried after a timeout never posts a comment twice.
    """

    def __init__(self, endpoint: ReviewEndpoint, run) -> None:
        self.endpoint = endpoint
        self.run = run
        self.event = pull_request_of(run)

    def build(self, message: Message) -> list[dict]:
        return [{"review": "line comments"}]

    def post(self, part: dict) -> Reply:
        placed = inline_comments(self.run)[0]
        head = ((self.run.context or {}).get("read") or {}).get("head_sha") or self.event.head_sha
        repository, number = self.event.repository, self.event.number
        with self.endpoint.client(self.event.installation_id) as forge:
            posted = {fingerprint_of(c.body) for c in forge.review_comments(repository, number)}
            new = [c for c in placed if c.fingerprint not in posted]
            if not new:
                count = f"{len(placed)} line comment{'s' if len(placed) != 1 else ''}"
                return Reply(200, f"{count} already on the pull request; nothing new to post")
            review = forge.create_review(repository, number, head, new)
        skipped = len(placed) - len(new)
        again = f"; {skipped} already there" if skipped else ""
        return Reply(201, f"review {review} with {len(new)} line comments{again}")


def line_sender_for(delivery: Delivery) -> LineCommentSender:
    run = delivery.run
    if run.review_endpoint is None:
        raise TargetGone("the endpoint was deleted.")
    return LineCommentSender(run.review_endpoint, run)
