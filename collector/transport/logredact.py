"""What of a request may be written to a log: its route, never its values.

Paths, query strings and request lines carry device tokens, OData filters naming people (`$filter=
contains(prs_SecondName,'...')`), console searches and whatever a probe typed. A log keeps:

- the path as the route that served it (`/v1/key/<token>/projects/<int:project_id>/submission`), or, for a
  path no route matched, only its shape (`/*/*/*`);
- the query string as its parameter names, each name only if the app reads it (`?$filter&$top`), an
  unknown name as `?`;
- of free text (gunicorn's own messages, which quote malformed request lines), nothing from a quote to the
  end of the line, a path only as its shape,
  nothing after a `?`, and no token-like run of characters;
- of the user agent, a known client's name and version only.

deploy/gunicorn.conf.py applies this to the access log and to gunicorn's error log.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Query parameter names the app reads; any other name is logged as `?` (a name can be a value too).
KNOWN_PARAMETERS = frozenset(
    {
        "$count",
        "$expand",
        "$filter",
        "$orderby",
        "$select",
        "$skip",
        "$skiptoken",
        "$top",
        "$wkt",
        "action",
        "attachments",
        "by",
        "cursor",
        "device",
        "deviceID",
        "draft",
        "force",
        "formID",
        "gender",
        "geopoint",
        "lang",
        "limit",
        "minScore",
        "next",
        "out",
        "paper",
        "province",
        "q",
        "reviewState",
        "status",
        "strict",
        "threshold",
        "userId",
        "year",
        "claimedProvince",
        "foreignCase",
        "raw",
        "cover",
        "paper_size",
        # The console's filters and paging, and pyodk's publish and version.
        "before",
        "bom",
        "col",
        "district",
        "done",
        "end",
        "publish",
        "resource",
        "start",
        "text",
        "user",
        "version",
        # The entities API (Central's names).
        "baseVersion",
        "deleted",
        "resolve",
    }
)

# Runs of URL-safe characters long enough to be a secret (device tokens are 43, session tokens longer).
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-%+=]{20,}")
_URL_SECRET = re.compile(r"/(key|test)/[^/\s]*")
_QUOTED = re.compile(r"""['"].*""")
# A path after a space, the start of a line or a scheme and host ("GET /console/search/<name>").
_PATH = re.compile(r"(^|\s|://[^/\s]+)(/[^\s]*)", re.M)
#: User agents logged by name and version; any other is logged as "other" (a client chooses what it sends).
KNOWN_AGENTS = frozenset(
    {
        "org.odk.collect.android",
        "Mozilla",
        "python-requests",
        "pyodk",
        "curl",
        "Wget",
        "Microsoft.Data.Mashup",
        "PowerBI",
        "okhttp",
        "Dalvik",
    }
)
_AGENT = re.compile(r"([A-Za-z][\w.\-]{0,40})(?:/(v?[\d.]{1,20}))?")
_QUERY = re.compile(r"\?\S*")


def query_names(query: str | None) -> str:
    """Return `?name&name` for a query string: known parameter names only, values never."""
    if not query:
        return ""
    names = []
    for pair in query.split("&"):
        name = pair.split("=", 1)[0]
        names.append(name if name in KNOWN_PARAMETERS else "?")
    return "?" + "&".join(names)


def path_shape(path: str | None) -> str:
    """Return a path with every segment replaced by `*` (for a path no route matched)."""
    if not path:
        return "-"
    segments = path.split("?", 1)[0].split("/")
    return "/".join("*" if segment else "" for segment in segments) or "/"


def target(route: str | None, raw_uri: str | None) -> str:
    """Return what a log may say of a request target: its route (or the path's shape) and parameter names."""
    if not raw_uri:
        return "-"
    parts = urlsplit(raw_uri) if "://" in raw_uri else None
    path, _, query = (parts.path, "?", parts.query) if parts else raw_uri.partition("?")
    return (route or path_shape(path)) + query_names(query)


def text(message):
    """Redact free text: quoted parts, query strings and token-like runs; anything else is returned as is."""
    if not isinstance(message, str):
        return message
    message = _QUOTED.sub("'***'", message)  # to the end of the line: a request line is quoted with %r
    message = _URL_SECRET.sub(r"/\1/***", message)
    message = _PATH.sub(lambda m: m.group(1) + path_shape(m.group(2)), message)
    message = _QUERY.sub("?***", message)
    return _TOKEN_LIKE.sub("***", message)


def agent(user_agent: str | None) -> str:
    """Return a user agent's product name and version if it is a known client's, else "other"."""
    match = _AGENT.match(user_agent or "")
    if not user_agent:
        return "-"
    if not match or match.group(1) not in KNOWN_AGENTS:
        return "other"
    return match.group(0)
