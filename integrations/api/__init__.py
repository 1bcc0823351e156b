"""The REST API (/api/v1/): runs to read, digests to run, runs to retry; hub API key auth."""
