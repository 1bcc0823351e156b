"""GitLab endpoints become review endpoints with a forge (GitLab or GitHub).

Renames only, so every endpoint, event and run is kept as it is: the table, the run's
foreign key and the instance URL get forge-neutral names; existing endpoints are GitLab's.
"""

import django.db.models.deletion
from django.db import migrations, models

import integrations.models.fields
import integrations.models.gitlab


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0013_trigger_scope_label"),
    ]

    operations = [
        migrations.RenameModel("GitLabEndpoint", "ReviewEndpoint"),
        migrations.RenameField("reviewendpoint", "gitlab_url", "base_url"),
        migrations.RenameField("run", "gitlab_endpoint", "review_endpoint"),
        migrations.AddField(
            model_name="reviewendpoint",
            name="forge",
            field=models.CharField(
                choices=[("gitlab", "GitLab"), ("github", "GitHub")],
                default="gitlab",
                help_text="Where the code lives; the webhook URL becomes /hooks/FORGE/SLUG/.",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="reviewendpoint",
            name="review_command_from",
            field=models.JSONField(
                blank=True,
                default=integrations.models.gitlab.trusted_associations,
                help_text="GitHub author associations whose /review comments are honoured. On "
                "public repositories anyone can comment and every review costs LLM tokens, so "
                "the default is the repository's owner, members and collaborators.",
                verbose_name="who may ask with /review (GitHub)",
            ),
        ),
        migrations.AlterModelOptions(
            name="reviewendpoint",
            options={"ordering": ["name"], "verbose_name": "review endpoint"},
        ),
        migrations.AlterField(
            model_name="reviewendpoint",
            name="access_token",
            field=integrations.models.fields.EncryptedTextField(
                help_text="GitLab: a project or group access token (or a bot user's personal token) with the api scope and at least the Reporter role. GitHub: a fine-grained token with Pull requests (read and write) and Contents (read) on the repositories, or a classic token with the repo scope. Stored encrypted; never shown again."
            ),
        ),
        migrations.AlterField(
            model_name="reviewendpoint",
            name="app",
            field=models.ForeignKey(
                help_text="The review workflow.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="review_endpoints",
                to="integrations.difyapp",
                verbose_name="Dify app",
            ),
        ),
        migrations.AlterField(
            model_name="reviewendpoint",
            name="base_url",
            field=models.URLField(
                help_text="The instance the hub reads diffs from and posts comments to, e.g. https://gitlab.example.com or https://github.com. URLs inside webhook payloads are never used for this.",
                verbose_name="forge URL",
            ),
        ),
        migrations.AlterField(
            model_name="reviewendpoint",
            name="recipients",
            field=models.ManyToManyField(
                blank=True,
                help_text="Optional: chat recipients that also get each review.",
                related_name="review_endpoints",
                to="integrations.recipient",
            ),
        ),
        migrations.AlterField(
            model_name="reviewendpoint",
            name="signing_secret",
            field=integrations.models.fields.EncryptedTextField(
                blank=True,
                help_text="GitLab: optional signing token (whsec_…), for Standard Webhooks signatures on recent GitLab versions; when set, every request must carry a valid signature. GitHub: the webhook's secret (required), which signs every delivery. Stored encrypted.",
            ),
        ),
        migrations.AlterField(
            model_name="reviewendpoint",
            name="slug",
            field=models.SlugField(
                help_text="The webhook URL becomes /hooks/FORGE/SLUG/.", max_length=100, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="run",
            name="review_endpoint",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="runs",
                to="integrations.reviewendpoint",
                verbose_name="review endpoint",
            ),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="idempotency_key",
            field=models.CharField(
                help_text="GitLab's Idempotency-Key (the same on retries and 'Resend request'; a hash of the body before GitLab 17.4), or GitHub's X-GitHub-Delivery (kept on redelivery).",
                max_length=200,
            ),
        ),
    ]
