from integrations.admin import apikeys, dify, digests, gitlab, recipients, runs  # noqa: F401  (registers ModelAdmins)
