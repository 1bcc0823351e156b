"""GET /metrics for Prometheus: the hub's state, read from the database at scrape time.

allow.py parses HUB_METRICS_ALLOW (no Django models: settings.py imports it), access.py
decides who may scrape, collector.py turns a few aggregate queries into metric families
(histograms.py builds the histogram parts), views.py answers. docs/operations.md,
"Monitoring", lists the metrics and says why they come from the database.
"""
