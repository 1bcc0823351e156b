"""GitLab: webhook payloads (pure), the REST client, and the merge-request review built on them."""
