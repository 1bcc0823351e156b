"""The admin's home page, the overview (issue 17 §1): what failed, what fires next, how each
app, digest and endpoint did over 24 h and 7 d, recipients' health, webhook events.

- stats.py, charts.py, periods.py: pure (grouped rows in; numbers, bars and periods out);
- queries.py: the few aggregate queries, each over an indexed time range;
- tables.py, moments.py: rows, charts and times ready for the template;
- page.py: `build_overview(user, now)`, the blocks a user may see.

The view that puts it on /admin/ is integrations/admin/overview.py.
"""
