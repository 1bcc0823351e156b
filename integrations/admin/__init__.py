from integrations.admin import dify, digests, gitlab, recipients, runs  # noqa: F401  (registers ModelAdmins)
