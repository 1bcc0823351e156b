"""The configuration file's shape: sections, their keys, and the model field each key sets.

Shared by the loader (shape checks), the planner (which field a key writes, which model error
belongs to which key) and the export (key order, secrets). No Django imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# YAML types a key may hold.
STR, INT, NUMBER, BOOL, OBJECT, NAMES = "str", "int", "number", "bool", "object", "names"
TYPE_WORDS = {
    STR: "a string",
    INT: "a whole number",
    NUMBER: "a number",
    BOOL: "true or false",
    OBJECT: "a mapping (JSON object)",
    NAMES: "a list of strings",
}


@dataclass(frozen=True)
class Key:
    name: str  # as written in the file
    field: str  # the model field it sets
    type: str
    required: bool = False
    secret: bool = False  # compared by value, printed as "(changed)", exported as ${...}
    nullable: bool = False  # null means "the hub's default" (a model field that is null)


# What GitHub's and Gitea's endpoint sections share, around their own URL and credentials.
_PULL_ENDPOINT_HEAD = (
    Key("name", "name", STR, required=True),
    Key("slug", "slug", STR, required=True),
    Key("secret", "secret_token_hash", STR, required=True, secret=True),
    Key("app", "app", STR, required=True),
)
_PULL_ENDPOINT_REVIEW = (
    Key("ca_bundle", "ca_bundle", STR),
    Key("triggers", "triggers", NAMES),
    Key("review_command_from", "review_command_from", NAMES),
    Key("target_branches", "target_branches", NAMES),
    Key("inputs", "input_mapping", OBJECT),
    Key("output", "output_key", STR),
    Key("comments", "comments_output", STR),
    Key("diff_budget", "diff_budget", INT),
    Key("post_comment", "post_note", BOOL),
    Key("new_part_when_large", "new_part_when_large", BOOL),
    Key("review_in_parts", "review_in_parts", BOOL),
    Key("max_parts", "max_parts", INT),
    Key("recipients", "recipients", NAMES),
    Key("enabled", "enabled", BOOL),
)

SECTIONS: dict[str, tuple[Key, ...]] = {
    "dify_apps": (
        Key("name", "name", STR, required=True),
        Key("base_url", "base_url", STR, required=True),
        Key("api_key", "api_key", STR, required=True, secret=True),
        Key("enabled", "enabled", BOOL),
        Key("response_mode", "response_mode", STR),
        Key("timeout", "run_timeout", INT),
        Key("connect_timeout", "connect_timeout", NUMBER),
        Key("read_timeout", "read_timeout", NUMBER),
        Key("first_event_timeout", "first_event_timeout", NUMBER),
        Key("max_concurrent_runs", "max_concurrent_runs", INT),
        Key("ca_bundle", "ca_bundle", STR),
    ),
    "recipients": (
        Key("name", "name", STR, required=True),
        Key("kind", "kind", STR, required=True),
        # Required by the kinds with no default server (checked by the model, per kind).
        Key("url", "webhook_url", STR, secret=True),
        Key("options", "options", OBJECT),
        Key("secret", "secret", STR, secret=True),
        Key("enabled", "enabled", BOOL),
        Key("disable_after", "disable_after", INT, nullable=True),
        Key("receives_alerts", "receives_alerts", BOOL),
    ),
    "digests": (
        Key("name", "name", STR, required=True),
        Key("app", "app", STR, required=True),
        Key("cron", "cron", STR, required=True),
        Key("timezone", "timezone", STR, required=True),
        Key("inputs", "inputs", OBJECT),
        Key("query", "query", STR),
        Key("language", "language", STR),
        Key("output", "output_key", STR),
        Key("title", "title", STR),
        Key("footer", "footer", STR),
        Key("recipients", "recipients", NAMES),
        Key("catchup_grace", "catchup_grace", INT),
        Key("enabled", "enabled", BOOL),
    ),
    "gitlab_endpoints": (
        Key("name", "name", STR, required=True),
        Key("slug", "slug", STR, required=True),
        Key("secret_token", "secret_token_hash", STR, required=True, secret=True),
        Key("app", "app", STR, required=True),
        Key("gitlab_url", "base_url", STR, required=True),
        Key("access_token", "access_token", STR, required=True, secret=True),
        Key("ca_bundle", "ca_bundle", STR),
        Key("triggers", "triggers", NAMES),
        Key("target_branches", "target_branches", NAMES),
        Key("inputs", "input_mapping", OBJECT),
        Key("output", "output_key", STR),
        Key("comments", "comments_output", STR),
        Key("diff_budget", "diff_budget", INT),
        Key("post_note", "post_note", BOOL),
        Key("resolve_stale_comments", "resolve_stale_comments", BOOL),
        Key("new_part_when_large", "new_part_when_large", BOOL),
        Key("review_in_parts", "review_in_parts", BOOL),
        Key("max_parts", "max_parts", INT),
        Key("recipients", "recipients", NAMES),
        Key("signing_secret", "signing_secret", STR, secret=True),
        Key("enabled", "enabled", BOOL),
    ),
    "github_endpoints": (
        *_PULL_ENDPOINT_HEAD,
        Key("github_url", "base_url", STR),
        Key("access_token", "access_token", STR, secret=True),  # or a GitHub App:
        Key("app_id", "github_app_id", INT),
        Key("private_key", "github_app_private_key", STR, secret=True),
        Key("installation_id", "github_installation_id", INT),
        *_PULL_ENDPOINT_REVIEW,
    ),
    "gitea_endpoints": (
        *_PULL_ENDPOINT_HEAD,
        Key("gitea_url", "base_url", STR, required=True),
        Key("access_token", "access_token", STR, required=True, secret=True),
        *_PULL_ENDPOINT_REVIEW,
    ),
}
# The review endpoints' sections, each with its forge (one model, ReviewEndpoint).
ENDPOINT_FORGES = {
    "gitlab_endpoints": "gitlab",
    "github_endpoints": "github",
    "gitea_endpoints": "gitea",
}
GITHUB_COM = "https://github.com"

# Dependency order: what a later section refers to comes earlier.
ORDER = (
    "dify_apps",
    "recipients",
    "digests",
    "gitlab_endpoints",
    "github_endpoints",
    "gitea_endpoints",
)
LABELS = {
    "dify_apps": "Dify app",
    "recipients": "recipient",
    "digests": "digest",
    "gitlab_endpoints": "GitLab endpoint",
    "github_endpoints": "GitHub endpoint",
    "gitea_endpoints": "Gitea endpoint",
}
PLACEHOLDER_PREFIX = {
    "dify_apps": "DIFY_APP",
    "recipients": "RECIPIENT",
    "digests": "DIGEST",
    "gitlab_endpoints": "GITLAB",
    "github_endpoints": "GITHUB",
    "gitea_endpoints": "GITEA",
}


def keys_of(section: str) -> dict[str, Key]:
    return {key.name: key for key in SECTIONS[section]}


def key_for_field(section: str, field: str) -> str:
    """The file's key for a model field (a model error names the field)."""
    for key in SECTIONS[section]:
        if key.field == field:
            return key.name
    return field


def placeholder_name(section: str, object_name: str, key: str) -> str:
    """DIFY_APP_WEATHER_API_KEY: upper case, every run of other characters becomes `_`."""
    words = re.sub(r"[^A-Z0-9]+", "_", f"{object_name}".upper()).strip("_") or "UNNAMED"
    return f"{PLACEHOLDER_PREFIX[section]}_{words}_{key.upper()}"
