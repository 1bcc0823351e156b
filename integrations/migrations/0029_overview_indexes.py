"""The overview's covering index on runs (integrations/overview/queries.py: week_counts and
hourly_counts group the week's runs from the index alone, without reading a table row).

It starts with created_at, so it also serves every range and order on created_at, and the
index on created_at alone goes: with both, PostgreSQL's planner costs them about the same
and picks the narrow one, whose plan then reads ~22k table pages for a week of runs at one
a second (EXPLAIN ANALYZE at 1M runs, benchmarks/overview.py: 330 ms against 185 ms).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0028_metrics_scope"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="run",
            index=models.Index(
                fields=[
                    "created_at",
                    "status",
                    "app",
                    "digest",
                    "review_endpoint",
                    "total_tokens",
                    "started_at",
                    "finished_at",
                ],
                name="run_overview_covering",
            ),
        ),
        migrations.AlterField(
            model_name="run",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
    ]
