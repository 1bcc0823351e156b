"""The review as one note on the merge request, found again by a hidden marker.

Every review of an MR (through one endpoint) edits the same note, so the MR shows the latest
review instead of a pile of them; and a retried delivery finds the note it may already have
posted instead of posting a second one. GitLab's errors reach the delivery code as they are
(GitLabError is a HubError): it decides on `retryable` like for any recipient.
"""

from __future__ import annotations

from integrations.channels.base import Message, Reply
from integrations.gitlab.api import GitLabClient
from integrations.gitlab.errors import GitLabForbidden, GitLabNotFound
from integrations.gitlab.events import MergeRequestEvent
from integrations.gitlab.review import merge_request_of
from integrations.models import Delivery, ReviewEndpoint
from integrations.runs.delivery import TargetGone

# GitLab refuses notes above 1,000,000 characters; a review that long is a runaway model.
NOTE_LIMIT = 100_000


def marker(endpoint_slug: str, merge_request_key: str) -> str:
    # The `<!-- dify-hub:review` prefix is also what the classifier uses to ignore the bot's
    # own notes when the bot's user id is not known yet.
    return f"<!-- dify-hub:review endpoint={endpoint_slug} mr={merge_request_key} -->"


def note_body(mark: str, message: Message, run_id: int) -> str:
    text = message.text.strip()
    if len(text) > NOTE_LIMIT:
        text = text[:NOTE_LIMIT] + f"\n\n[… review cut: {len(text) - NOTE_LIMIT} more characters]"
    lines = [mark]
    if message.title:
        lines.append(f"### {message.title}")
    lines.append(text)
    footer = f"{message.footer} · dify-hub run #{run_id}" if message.footer else ""
    if footer:
        lines.append(f"<sub>{footer}</sub>")
    return "\n\n".join(lines)


class NoteSender:
    """Looks like a chat transport to the delivery code: build() then post() each part."""

    def __init__(self, endpoint: ReviewEndpoint, event: MergeRequestEvent, run_id: int) -> None:
        self.endpoint = endpoint
        self.event = event
        self.run_id = run_id
        self.mark = marker(endpoint.slug, event.merge_request_key)

    def build(self, message: Message) -> list[dict]:
        return [{"body": note_body(self.mark, message, self.run_id)}]

    def post(self, part: dict) -> Reply:
        project, iid = self.event.project_id, self.event.iid
        with self.endpoint.client() as gitlab:
            note = self._find(gitlab)
            if note is not None:
                try:
                    saved = gitlab.update_note(project, iid, note.id, part["body"])
                    return Reply(200, f"updated note {saved.id}")
                except (GitLabNotFound, GitLabForbidden):
                    pass  # deleted meanwhile, or not ours after all: post a new one
            saved = gitlab.create_note(project, iid, part["body"])
            return Reply(201, f"created note {saved.id}")

    def _find(self, gitlab: GitLabClient):
        return gitlab.find_note(
            self.event.project_id,
            self.event.iid,
            self.mark,
            author_id=self.endpoint.bot_user_id,
        )


def sender_for(delivery: Delivery) -> NoteSender:
    run = delivery.run
    endpoint = run.review_endpoint
    if endpoint is None:
        raise TargetGone("the GitLab endpoint was deleted.")
    return NoteSender(endpoint, merge_request_of(run), run.pk)
