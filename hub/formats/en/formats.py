# The admin's times, one format everywhere: 2026-12-03 13:43:05 CST (in the viewer's zone,
# integrations/viewer_zone.py). Django's own English formats say "Dec. 3, 2026, 1:43 p.m.",
# without seconds or zone, and differ from page to page.
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
