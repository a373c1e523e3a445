"""Times as staff compare them with logs and other systems: to the second, with the zone
(the admin's lists and pages; Django's English default stops at the minute, with no zone)."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
