from integrations.admin import dify, digests, recipients, runs  # noqa: F401  (registers ModelAdmins)
