"""Time-zone abbreviations as pages print them, and date-times read with them.

Contract. `TZINFOS` maps the common abbreviations of news pages to a zone: fixed offsets where the
abbreviation names one ("EST", "CEST", "MESZ"), the region's rules where it names a region whose
offset changes with daylight saving time ("ET", "PT": New York's, Los Angeles' rules on that day).
Ambiguous abbreviations keep the reading news in English most often means ("IST": India). `parse`
reads a date-time with them through dateutil and never warns: an abbreviation it does not know
makes the result's zone unknown (`zone_known` False: the caller keeps the day shown and no
instant), where dateutil would print UnknownTimezoneWarning once per page and read the time as
UTC, or as the machine's own zone when the name matches it. North American readings win where an
abbreviation is shared ("CST": Central, not China; "AST": Atlantic, not Arabia).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from dateutil import parser as dateutil_parser
from dateutil.tz import gettz, tzoffset

_FIXED = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEZ": 0, "BST": 1, "WEST": 1, "WESZ": 1, "CET": 1, "MEZ": 1,
    "WAT": 1, "CEST": 2, "MESZ": 2, "EET": 2, "OEZ": 2, "CAT": 2, "SAST": 2, "EEST": 3, "OESZ": 3, "MSK": 3,
    "EAT": 3, "PKT": 5, "IST": 5.5, "WIB": 7, "ICT": 7, "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8,
    "JST": 9, "KST": 9, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
    "BRT": -3, "ART": -3, "AST": -4, "ADT": -3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
}
# an abbreviation without "standard" or "daylight": the region's offset on that day
_REGIONS = {"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles",
            "AKT": "America/Anchorage", "HT": "Pacific/Honolulu", "AET": "Australia/Sydney", "NZT": "Pacific/Auckland"}


def _zones() -> dict[str, tzinfo]:
    out: dict[str, tzinfo] = {name: tzoffset(name, int(hours * 3600)) for name, hours in _FIXED.items()}
    for name, region in _REGIONS.items():
        zone = gettz(region)  # the system's zone data, else the copy dateutil ships
        if zone is not None:
            out[name] = zone
    return out


TZINFOS = _zones()


def parse(text: str, dayfirst: bool | None = None) -> tuple[datetime, bool]:
    """The date-time TEXT shows, and whether its zone is known (no zone given counts as known: UTC
    by the project's rule). Every zone name goes through the table, never through the machine's own
    zone (dateutil would read "IDT" as local time on a machine in Israel), so the same text gives
    the same instant anywhere. Raises ValueError or OverflowError where dateutil does."""
    unknown: list[str] = []

    def zone(name: str | None, offset: int | None) -> tzinfo | None:
        if offset is not None:  # "+02:00", "UTC+2"
            return tzoffset(name, offset)
        if name is None:
            return None
        if name.upper() in TZINFOS:
            return TZINFOS[name.upper()]
        unknown.append(name)
        return None

    at = dateutil_parser.parse(text, tzinfos=zone, dayfirst=dayfirst)
    return at, not unknown


__all__ = ["TZINFOS", "parse"]
