"""The fake LinkedIn's analytics and social actions: post and member statistics, followers, reactions,
comments, and the control route that injects their faults.

Figures are deterministic: a post's (by the number in its URN, so ``share:N``, ``ugcPost:N`` and
``activity:N`` are one post) and an account's (a member id, or an organisation id) come from a hash,
so tests compute what to expect with `post_figures`, `daily_figure`, `lifetime_figure`,
`follower_total` and `follower_gain`. Reactions and comments made through this fake add to their
post's ``REACTION`` and ``COMMENT``. Without an injected fault every figure is non-negative and a
daily series has one entry per day from ``start`` up to, not including, ``end``.

Queries use Rest.li 2.0 encoding: structure (``(``, ``)``, ``,``, ``:``, ``List(…)``) as is, URNs
percent-encoded; a URN left unencoded is refused (400), as LinkedIn does.

Faults (``POST /_control/linkedin/insights``)::

    {"account": "<member or organisation id>", "target": "<what>", "fault": "<kind>",
     "post": "<URN or number, optional>", "times": <n, optional: every call until reset>}

`target` is a metric (``IMPRESSION``, ``MEMBERS_REACHED``, ``RESHARE``, ``REACTION``, ``COMMENT``),
``FOLLOWERS``, ``REACTIONS``, ``COMMENTS`` or ``*``. `fault` is ``unavailable`` (the figure is
``-1``), ``server-error`` (500), ``forbidden`` (403) or ``rate-limited`` (429 with Retry-After).
An organisation's share statistics answer every metric at once: any metric's failure fails them.
``GET`` lists the rules and what the fake stored; ``DELETE`` drops the rules (as does a reset).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._linkedin_errors import denied, li_error
from postpost.simulator.world import World

METRICS = ("IMPRESSION", "MEMBERS_REACHED", "RESHARE", "REACTION", "COMMENT")
TARGETS = frozenset({*METRICS, "FOLLOWERS", "REACTIONS", "COMMENTS", "*"})
FAULTS = frozenset({"unavailable", "server-error", "forbidden", "rate-limited"})
REACTION_TYPES = frozenset({"LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION", "ENTERTAINMENT"})
SHARE_FIELDS = {
    "IMPRESSION": "impressionCount",
    "MEMBERS_REACHED": "uniqueImpressionsCount",
    "RESHARE": "shareCount",
    "REACTION": "likeCount",
    "COMMENT": "commentCount",
}
DAILY_CAP = {"IMPRESSION": 900, "MEMBERS_REACHED": 600, "RESHARE": 6, "REACTION": 45, "COMMENT": 12}
COMMENT_MAX = 1250
MAX_DAYS = 366

_POST = re.compile(r"^urn:li:(share|ugcPost|activity):(\d+)$")
_COMMENT = re.compile(r"^urn:li:comment:\(urn:li:(?:share|ugcPost|activity):(\d+),(\d+)\)$")
_ACTOR = re.compile(r"^urn:li:(person|organization):([A-Za-z0-9_-]+)$")
_REACTION_KEY = re.compile(r"^\(actor:([^,():]+),entity:([^,():]+)\)$")

Authorize = Callable[[Request], "str | Response"]
ActsFor = Callable[[str, Any], bool]


# ----- the figures ----------------------------------------------------------------------


def _hash(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def post_figures(number: str) -> dict[str, int]:
    """A post's lifetime figures before this fake's own reactions and comments are added."""
    h = _hash("post", number)
    impressions = 150 + h % 19_850
    reached = impressions * (35 + (h >> 16) % 46) // 100
    reactions = impressions * (1 + (h >> 24) % 6) // 100
    return {
        "IMPRESSION": impressions,
        "MEMBERS_REACHED": reached,
        "REACTION": reactions,
        "COMMENT": reactions // (2 + (h >> 32) % 6),
        "RESHARE": reactions // (4 + (h >> 40) % 9),
    }


def daily_figure(subject: str, metric: str, day: date) -> int:
    """One day's figure of an account (member or organisation id) or a post (``post:<number>``)."""
    return _hash("day", subject, metric, day.isoformat()) % (DAILY_CAP[metric] + 1)


def lifetime_figure(account: str, metric: str) -> int:
    """An account's lifetime figure over all of its posts."""
    return _hash("lifetime", account, metric) % (DAILY_CAP[metric] * 365 + 1)


def follower_total(account: str) -> int:
    return 100 + _hash("followers", account) % 9_900


def follower_gain(account: str, day: date) -> int:
    return _hash("gain", account, day.isoformat()) % 21


# ----- Rest.li query values -------------------------------------------------------------


class RestliError(ValueError):
    """A query value that is not Rest.li 2.0."""


def parse_restli(text: str) -> Any:
    """A Rest.li 2.0 value: ``(k:v,…)`` → dict, ``List(…)`` → list, a leaf → its decoded text."""
    value, end = _value(text, 0)
    if end != len(text):
        raise RestliError(f"unexpected {text[end:]!r}")
    return value


def _value(text: str, i: int) -> tuple[Any, int]:
    if text.startswith("List(", i):
        items: list[Any] = []
        i += 5
        while i < len(text) and text[i] != ")":
            item, i = _value(text, i)
            items.append(item)
            if i < len(text) and text[i] == ",":
                i += 1
        return items, _close(text, i)
    if i < len(text) and text[i] == "(":
        fields: dict[str, Any] = {}
        i += 1
        while i < len(text) and text[i] != ")":
            colon = text.find(":", i)
            if colon < 0:
                raise RestliError("a field without ':'")
            fields[unquote(text[i:colon])], i = _value(text, colon + 1)
            if i < len(text) and text[i] == ",":
                i += 1
        return fields, _close(text, i)
    end = i
    while end < len(text) and text[end] not in ",)":
        if text[end] in "(:":
            raise RestliError(f"reserved character {text[end]!r} in a value")
        end += 1
    return unquote(text[i:end]), end


def _close(text: str, i: int) -> int:
    if i >= len(text) or text[i] != ")":
        raise RestliError("missing ')'")
    return i + 1


def _raw_query(request: Request) -> dict[str, str]:
    raw = request.scope.get("query_string", b"").decode("latin-1")
    pairs = (part.partition("=") for part in raw.split("&") if part)
    return {unquote(k): v for k, _, v in pairs}


def _day(value: Any) -> date:
    if not isinstance(value, dict):
        raise RestliError("a date must be (day:…,month:…,year:…)")
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, ValueError) as exc:
        raise RestliError(f"invalid date {value!r}") from exc


def _date_json(day: date) -> dict[str, int]:
    return {"day": day.day, "month": day.month, "year": day.year}


def _days(start: date, end: date) -> list[date]:
    if end <= start or (end - start).days > MAX_DAYS:
        raise RestliError("the range must end after it starts, within a year")
    return [start + timedelta(days=n) for n in range((end - start).days)]


def _ms(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000)


@dataclass
class Rule:
    """An injected fault of the analytics or social-action endpoints."""

    account: str
    target: str
    fault: str
    post: str | None = None  # a post number
    times: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "target": self.target,
            "fault": self.fault,
            "post": self.post,
            "times": self.times,
        }


@dataclass
class StoredComment:
    actor: str
    number: str  # of the post commented on
    json: dict[str, Any]


class Insights:
    """The endpoints; `authorize` checks a versioned call and names the calling member."""

    def __init__(self, world: World, authorize: Authorize, acts_for: ActsFor) -> None:
        self.world = world
        self.authorize = authorize
        self.acts_for = acts_for
        self.rules: list[Rule] = []
        self.reactions: dict[tuple[str, str], dict[str, Any]] = {}  # (actor, root) -> reaction
        self.comments: dict[str, StoredComment] = {}
        self.last_comment = 0

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/rest/memberCreatorPostAnalytics", self.member_post_analytics, methods=["GET"]),
            Route("/rest/memberFollowersCount", self.member_followers, methods=["GET"]),
            Route("/rest/organizationalEntityShareStatistics", self.share_statistics, methods=["GET"]),
            Route("/rest/organizationalEntityFollowerStatistics", self.follower_statistics, methods=["GET"]),
            Route("/rest/networkSizes/{urn}", self.network_size, methods=["GET"]),
            Route("/rest/reactions", self.create_reaction, methods=["POST"]),
            Route("/rest/reactions/{key}", self.delete_reaction, methods=["DELETE"]),
            Route("/rest/socialActions/{urn}/comments", self.create_comment, methods=["POST"]),
            Route("/rest/socialActions/{urn}/comments/{id}", self.delete_comment, methods=["DELETE"]),
        ]

    def control_routes(self) -> list[BaseRoute]:
        """Relative to ``/_control/linkedin``: out of the platform's own paths, so a server that
        guards ``/_control`` guards these too."""
        return [
            Route("/insights", self.add_rule, methods=["POST"]),
            Route("/insights", self.listing, methods=["GET"]),
            Route("/insights", self.clear_rules, methods=["DELETE"]),
        ]

    def forget(self, account: str | None = None) -> None:
        if account is None:
            self.rules.clear()
            self.reactions.clear()
            self.comments.clear()
            return
        self.rules = [r for r in self.rules if r.account != account]
        for key in [k for k in self.reactions if _actor_id(k[0]) == account]:
            del self.reactions[key]
        for cid in [c for c, s in self.comments.items() if _actor_id(s.actor) == account]:
            del self.comments[cid]

    # ----- statistics --------------------------------------------------------------------

    async def member_post_analytics(self, request: Request) -> Response:
        """``q=entity`` (one post) or ``q=me`` (all the member's posts), TOTAL or DAILY."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        try:
            query = _raw_query(request)
            finder, metric = query.get("q"), query.get("queryType")
            aggregation = query.get("aggregation", "TOTAL")
            if metric not in METRICS or aggregation not in ("TOTAL", "DAILY"):
                raise RestliError("queryType and aggregation must be valid")
            if aggregation == "DAILY" and metric == "MEMBERS_REACHED":
                raise RestliError("DAILY aggregation is not supported for MEMBERS_REACHED")
            span = self._span(query, required=aggregation == "DAILY")
            number = self._entity(query) if finder == "entity" else None
            if finder not in ("entity", "me"):
                raise RestliError("q must be entity or me")
        except RestliError as exc:
            return _bad_request(str(exc))
        fault = self._fault([member], metric, number)
        if fault is not None and fault != "unavailable":
            return self._fault_response(fault)
        subject = f"post:{number}" if number else member
        if aggregation == "DAILY":
            assert span is not None
            elements = [
                {
                    "count": -1 if fault else daily_figure(subject, metric, d),
                    "metricType": metric,
                    "dateRange": {"start": _date_json(d), "end": _date_json(d + timedelta(days=1))},
                }
                for d in _days(*span)
            ]
        else:
            if number is not None:
                count = self._post_figure(number, metric)
            elif span is not None:
                count = sum(daily_figure(member, metric, d) for d in _days(*span))
            else:
                count = lifetime_figure(member, metric)
            elements = [{"count": -1 if fault else count, "metricType": metric}]
        return _collection(elements)

    async def member_followers(self, request: Request) -> Response:
        """``q=me`` (the lifetime count) or ``q=dateRange`` (new followers per day)."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        try:
            query = _raw_query(request)
            span = self._span(query, required=query.get("q") == "dateRange")
            if query.get("q") not in ("me", "dateRange"):
                raise RestliError("q must be me or dateRange")
        except RestliError as exc:
            return _bad_request(str(exc))
        fault = self._fault([member], "FOLLOWERS")
        if fault is not None and fault != "unavailable":
            return self._fault_response(fault)
        if span is None:
            return _collection([{"memberFollowersCount": -1 if fault else follower_total(member)}])
        elements = [
            {
                "dateRange": {"start": _date_json(d), "end": _date_json(d + timedelta(days=1))},
                "memberFollowersCount": -1 if fault else follower_gain(member, d),
            }
            for d in _days(*span)
        ]
        return _collection(elements)

    async def share_statistics(self, request: Request) -> Response:
        """An organisation's share statistics: lifetime, per post (`shares`/`ugcPosts`), or per day."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        try:
            query = _raw_query(request)
            organization = self._organization(query)
            posts = [*self._urn_list(query, "shares", "share"), *self._urn_list(query, "ugcPosts", "ugcPost")]
            span = self._intervals(query)
        except RestliError as exc:
            return _bad_request(str(exc))
        if not self.acts_for(member, organization):
            return denied("GET /rest/organizationalEntityShareStatistics")
        org_id = _actor_id(organization)
        rules = [self._fault([member, org_id], m) for m in METRICS]
        failure = next((f for f in rules if f and f != "unavailable"), None)
        if failure is not None:
            return self._fault_response(failure)
        unavailable = {m for m, f in zip(METRICS, rules, strict=True) if f == "unavailable"}

        def stats(figures: dict[str, int]) -> dict[str, int]:
            return {SHARE_FIELDS[m]: -1 if m in unavailable else figures[m] for m in METRICS}

        base = {"organizationalEntity": organization}
        if posts:
            elements = [
                {
                    **base,
                    kind: urn,
                    "totalShareStatistics": stats({m: self._post_figure(n, m) for m in METRICS}),
                }
                for kind, urn, n in posts
            ]
        elif span is not None:
            elements = [
                {
                    **base,
                    "timeRange": {"start": _ms(d), "end": _ms(d + timedelta(days=1))},
                    "totalShareStatistics": stats({m: daily_figure(org_id, m, d) for m in METRICS}),
                }
                for d in _days(*span)
            ]
        else:
            lifetime = {m: lifetime_figure(org_id, m) for m in METRICS}
            elements = [{**base, "totalShareStatistics": stats(lifetime)}]
        return _collection(elements)

    async def follower_statistics(self, request: Request) -> Response:
        """An organisation's new followers per day (`timeIntervals`)."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        try:
            query = _raw_query(request)
            organization = self._organization(query)
            span = self._intervals(query)
            if span is None:
                raise RestliError("timeIntervals is required here")
        except RestliError as exc:
            return _bad_request(str(exc))
        if not self.acts_for(member, organization):
            return denied("GET /rest/organizationalEntityFollowerStatistics")
        org_id = _actor_id(organization)
        fault = self._fault([member, org_id], "FOLLOWERS")
        if fault is not None and fault != "unavailable":
            return self._fault_response(fault)
        elements = [
            {
                "organizationalEntity": organization,
                "timeRange": {"start": _ms(d), "end": _ms(d + timedelta(days=1))},
                "followerGains": {
                    "organicFollowerGain": -1 if fault else follower_gain(org_id, d),
                    "paidFollowerGain": 0,
                },
            }
            for d in _days(*span)
        ]
        return _collection(elements)

    async def network_size(self, request: Request) -> Response:
        """``networkSizes/{organization}?edgeType=COMPANY_FOLLOWED_BY_MEMBER``: its follower count."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        organization = request.path_params["urn"]
        if b"urn:li:" in (request.scope.get("raw_path") or b""):
            return _bad_request("The key in the path must be URL-encoded")
        if request.query_params.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER" or not _ACTOR.match(
            organization
        ):
            return _bad_request("edgeType COMPANY_FOLLOWED_BY_MEMBER and an organization URN are required")
        org_id = _actor_id(organization)
        fault = self._fault([member, org_id], "FOLLOWERS")
        if fault is not None and fault != "unavailable":
            return self._fault_response(fault)
        return JSONResponse({"firstDegreeSize": -1 if fault else follower_total(org_id)})

    # ----- reactions ---------------------------------------------------------------------

    async def create_reaction(self, request: Request) -> Response:
        """``POST /rest/reactions?actor=…`` ``{"root", "reactionType"}``: 201 with the reaction."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        actor = _raw_query(request).get("actor", "")
        if "urn:li:" in actor:
            return _bad_request("actor must be URL-encoded")
        actor = unquote(actor)
        if not self.acts_for(member, actor):
            return denied("POST /rest/reactions")
        body = await _json_object(request)
        root, kind = body.get("root"), body.get("reactionType")
        number = _number_of(root)
        if number is None or (isinstance(root, str) and root.startswith("urn:li:activity:")):
            return li_error(
                400, f"root {root!r} must be a share, ugcPost or comment URN", code="ILLEGAL_ARGUMENT"
            )
        if kind not in REACTION_TYPES:
            return li_error(400, f"reactionType {kind!r} is not a reaction type", code="ILLEGAL_ARGUMENT")
        fault = self._fault([member, _actor_id(actor)], "REACTIONS", number)
        if fault is not None:
            return self._fault_response(fault)
        root = str(root)
        if (actor, root) in self.reactions:
            return li_error(409, f"{actor} has already reacted to {root}", code="DUPLICATE_REACTION")
        now = int(self.world.clock() * 1000)
        urn = f"urn:li:reaction:({actor},{root})"
        stamp = {"actor": actor, "time": now}
        reaction = {"id": urn, "root": root, "reactionType": kind, "created": stamp, "lastModified": stamp}
        self.reactions[(actor, root)] = reaction
        return JSONResponse(reaction, 201, headers={"x-restli-id": urn})

    async def delete_reaction(self, request: Request) -> Response:
        """``DELETE /rest/reactions/(actor:…,entity:…)``: 204."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        raw = (request.scope.get("raw_path") or b"").decode("latin-1").rsplit("/", 1)[-1]
        found = _REACTION_KEY.match(raw)
        if found is None:
            return _bad_request("The key must be (actor:<encoded URN>,entity:<encoded URN>)")
        actor, root = unquote(found.group(1)), unquote(found.group(2))
        if not self.acts_for(member, actor):
            return denied("DELETE /rest/reactions")
        fault = self._fault([member, _actor_id(actor)], "REACTIONS", _number_of(root))
        if fault is not None:
            return self._fault_response(fault)
        if self.reactions.pop((actor, root), None) is None:
            return li_error(404, f"No reaction of {actor} on {root}", code="NOT_FOUND")
        return Response(status_code=204)

    # ----- comments ----------------------------------------------------------------------

    async def create_comment(self, request: Request) -> Response:
        """``POST /rest/socialActions/{post}/comments``: 201, the comment, its id in ``x-restli-id``."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        post = request.path_params["urn"]
        if b"urn:li:" in (request.scope.get("raw_path") or b""):
            return _bad_request("The key in the path must be URL-encoded")
        found = _POST.match(post)
        if found is None:
            return li_error(404, f"{post} is not a post", code="NOT_FOUND")
        body = await _json_object(request)
        actor, message = body.get("actor"), body.get("message")
        if not self.acts_for(member, actor):
            return denied("POST /rest/socialActions/comments")
        if body.get("object") != post:
            return li_error(400, "object must be the post in the path", code="ILLEGAL_ARGUMENT")
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text.strip():
            return li_error(422, "ERROR :: /message/text :: field is required but not found\n")
        if len(text) > COMMENT_MAX:
            return li_error(422, f"ERROR :: /message/text :: length exceeds {COMMENT_MAX}\n")
        number = found.group(2)
        parent = body.get("parentComment")
        if parent is not None and (not isinstance(parent, str) or _number_of(parent) != number):
            return li_error(400, "parentComment must be a comment on the same post", code="ILLEGAL_ARGUMENT")
        fault = self._fault([member, _actor_id(str(actor))], "COMMENTS", number)
        if fault is not None:
            return self._fault_response(fault)
        self.last_comment = max(int(self.world.clock() * 1000) << 22, self.last_comment + 1)
        cid = str(self.last_comment)
        activity = f"urn:li:activity:{number}"
        stamp = {"actor": actor, "time": int(self.world.clock() * 1000)}
        comment: dict[str, Any] = {
            "actor": actor,
            "commentUrn": f"urn:li:comment:({activity},{cid})",
            "created": stamp,
            "id": cid,
            "lastModified": stamp,
            "message": {"attributes": [], "text": text},
            "object": activity,
        }
        if parent is not None:
            comment["parentComment"] = parent
        self.comments[cid] = StoredComment(str(actor), number, comment)
        return JSONResponse(comment, 201, headers={"x-restli-id": cid})

    async def delete_comment(self, request: Request) -> Response:
        """``DELETE /rest/socialActions/{post}/comments/{id}?actor=…``: 204."""
        member = self.authorize(request)
        if isinstance(member, Response):
            return member
        post, cid = request.path_params["urn"], request.path_params["id"]
        actor = unquote(_raw_query(request).get("actor", ""))
        if not self.acts_for(member, actor):
            return denied("DELETE /rest/socialActions/comments")
        number = _number_of(post)
        fault = self._fault([member, _actor_id(actor)], "COMMENTS", number)
        if fault is not None:
            return self._fault_response(fault)
        stored = self.comments.get(cid)
        if stored is None or stored.number != number:
            return li_error(404, f"Comment {cid} does not exist on {post}", code="NOT_FOUND")
        if stored.actor != actor:
            return denied("DELETE /rest/socialActions/comments")
        del self.comments[cid]
        return Response(status_code=204)

    # ----- faults ------------------------------------------------------------------------

    async def add_rule(self, request: Request) -> Response:
        body = await _json_object(request)
        account, target, fault = body.get("account"), body.get("target"), body.get("fault")
        post, times = body.get("post"), body.get("times")
        if not isinstance(account, str) or not account:
            return JSONResponse({"error": "account must be a non-empty string"}, 400)
        if target not in TARGETS:
            return JSONResponse({"error": f"target must be one of {sorted(TARGETS)}"}, 400)
        if fault not in FAULTS:
            return JSONResponse({"error": f"fault must be one of {sorted(FAULTS)}"}, 400)
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            return JSONResponse({"error": "times must be a positive integer"}, 400)
        number = _number_of(post) if isinstance(post, str) and post.startswith("urn:") else post
        if post is not None and not (isinstance(number, str) and number.isdigit()):
            return JSONResponse({"error": "post must be a post URN or number"}, 400)
        rule = Rule(account, target, fault, number, times)
        self.rules.append(rule)
        return JSONResponse(rule.as_json(), 201)

    async def listing(self, request: Request) -> Response:
        return JSONResponse(
            {
                "rules": [r.as_json() for r in self.rules],
                "reactions": list(self.reactions.values()),
                "comments": [c.json for c in self.comments.values()],
            }
        )

    async def clear_rules(self, request: Request) -> Response:
        self.rules.clear()
        return JSONResponse({"status": "ok"})

    def _fault(self, accounts: list[str], target: str, number: str | None = None) -> str | None:
        """The fault an injected rule plays on this call (a counted rule is used up)."""
        for rule in self.rules:
            if rule.account not in accounts or rule.target not in (target, "*"):
                continue
            if rule.post is not None and rule.post != number:
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times == 0:
                    self.rules.remove(rule)
            return rule.fault
        return None

    def _fault_response(self, fault: str) -> Response:
        if fault == "rate-limited":
            hold = str(max(1, round(self.world.hold_seconds)))
            return li_error(
                429,
                "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
                code="TOO_MANY_REQUESTS",
                headers={"Retry-After": hold},
            )
        if fault == "forbidden":
            return denied("this resource (r_member_postAnalytics)")
        if fault == "unavailable":  # a social action cannot be "unavailable": it fails
            return li_error(404, "The entity is not available", code="NOT_FOUND")
        return li_error(500, "Internal Server Error")

    # ----- helpers -----------------------------------------------------------------------

    def _post_figure(self, number: str, metric: str) -> int:
        count = post_figures(number)[metric]
        if metric == "REACTION":
            count += sum(1 for _actor, root in self.reactions if _number_of(root) == number)
        elif metric == "COMMENT":
            count += sum(1 for c in self.comments.values() if c.number == number)
        return count

    def _span(self, query: dict[str, str], *, required: bool) -> tuple[date, date] | None:
        if "dateRange" not in query:
            if required:
                raise RestliError("dateRange is required")
            return None
        span = parse_restli(query["dateRange"])
        if not isinstance(span, dict):
            raise RestliError("dateRange must be (start:(…),end:(…))")
        start, end = _day(span.get("start")), _day(span.get("end"))
        _days(start, end)
        return start, end

    def _entity(self, query: dict[str, str]) -> str:
        raw = query.get("entity", "")
        if "urn:li:" in raw:
            raise RestliError("entity must hold a URL-encoded URN")
        entity = parse_restli(raw)
        kinds = {"share": "share", "ugc": "ugcPost"}
        if not isinstance(entity, dict) or len(entity) != 1 or next(iter(entity)) not in kinds:
            raise RestliError("entity must be (share:<URN>) or (ugc:<URN>)")
        [(kind, urn)] = entity.items()
        found = _POST.match(str(urn))
        if found is None or found.group(1) != kinds[kind]:
            raise RestliError(f"entity {kind} must hold a {kinds[kind]} URN")
        return found.group(2)

    def _organization(self, query: dict[str, str]) -> str:
        raw = query.get("organizationalEntity", "")
        if query.get("q") != "organizationalEntity" or "urn:li:" in raw:
            raise RestliError("q=organizationalEntity with a URL-encoded organization URN is required")
        organization = unquote(raw)
        if not organization.startswith("urn:li:organization:") or not _ACTOR.match(organization):
            raise RestliError("organizationalEntity must be an organization URN")
        return organization

    def _urn_list(self, query: dict[str, str], name: str, kind: str) -> list[tuple[str, str, str]]:
        if name not in query:
            return []
        if "urn:li:" in query[name]:
            raise RestliError(f"{name} must hold URL-encoded URNs")
        items = parse_restli(query[name])
        found = [_POST.match(str(u)) for u in items] if isinstance(items, list) else [None]
        if not found or any(f is None or f.group(1) != kind for f in found):
            raise RestliError(f"{name} must be List(<{kind} URN>,…)")
        return [(kind, f.group(0), f.group(2)) for f in found if f is not None]

    def _intervals(self, query: dict[str, str]) -> tuple[date, date] | None:
        if "timeIntervals" not in query:
            return None
        value = parse_restli(query["timeIntervals"])
        span = value.get("timeRange") if isinstance(value, dict) else None
        if not isinstance(span, dict) or value.get("timeGranularityType") != "DAY":
            raise RestliError("timeIntervals must be (timeRange:(start:…,end:…),timeGranularityType:DAY)")
        try:
            start, end = (datetime.fromtimestamp(int(span[k]) / 1000, UTC).date() for k in ("start", "end"))
        except (KeyError, ValueError) as exc:
            raise RestliError("timeRange must hold epoch milliseconds") from exc
        _days(start, end)
        return start, end


def _collection(elements: list[dict[str, Any]]) -> JSONResponse:
    paging = {"start": 0, "count": max(10, len(elements)), "links": [], "total": len(elements)}
    return JSONResponse({"paging": paging, "elements": elements})


def _bad_request(message: str) -> JSONResponse:
    return li_error(400, message, code="ILLEGAL_ARGUMENT")


def _number_of(urn: Any) -> str | None:
    """The post number a post or comment URN refers to."""
    if not isinstance(urn, str):
        return None
    post = _POST.match(urn)
    if post is not None:
        return post.group(2)
    comment = _COMMENT.match(urn)
    return comment.group(1) if comment is not None else None


def _actor_id(urn: str) -> str:
    return urn.rsplit(":", 1)[-1]


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
