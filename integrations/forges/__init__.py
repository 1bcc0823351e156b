"""Code review for every forge (GitLab, GitHub, ...), one package per forge.

Each forge package has its delivery verification, its pure event classification, its REST
client on the shared HTTP layer and its comment writer. What every forge shares (the
triggers, the `/review` command, the marker the hub's own comments carry, the shape of a
classification) lives in `integrations.forges.common`.
"""
