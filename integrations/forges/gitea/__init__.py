"""Gitea and Forgejo: deliveries, events, REST client (GitHub-shaped, with their own rules)."""
