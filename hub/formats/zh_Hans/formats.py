# The same formats as English (hub/formats/en/formats.py): a time reads 2026-12-03 13:43:05 CST
# in every language of the admin, whatever Django's own zh_Hans formats say.
from hub.formats.en.formats import *  # noqa: F403
