"""Fake of a Bluesky PDS: the XRPC methods a publishing service calls.

Sessions are stateless (any handle or ``did:plc:`` with a non-empty
password logs in); tokens are HS256 JWTs signed with a per-app secret.
A handle maps to ``did:plc:`` + base32(sha256(handle))[:24]; a DID logs in as itself
with the handle ``<its suffix>.sandbox.bsky``.

Media (`_bluesky_media`): ``com.atproto.repo.uploadBlob`` (raw body up to `blob_limit`, type
sniffed), ``com.atproto.server.getServiceAuth``, ``com.atproto.repo.describeRepo`` (the DID
document naming this PDS), and the video service on the same origin:
``app.bsky.video.uploadVideo`` (a service token for this PDS's ``did:web`` and method
``com.atproto.repo.uploadBlob``; up to `video_limit` bytes and `video_max_seconds`; it answers a
bare job status, as the real service does, not the lexicon's ``{"jobStatus"}``) and
``app.bsky.video.getJobStatus`` (no auth; the job takes `processing_seconds`).

Media faults: a ``media-slow`` / ``media-processing-failed`` fault queued for the account is
taken by its next video upload (processing then takes the world's `slow_seconds`, or fails).
The PDS sees a post's text only when the record is created, after its media: a post's
``media-processing-failed`` marker then refuses a record with media (400); ``media-slow`` has
nothing left to slow there (images are not processed, a video already was).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import regex
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._bluesky_media import (
    Blob,
    Job,
    TooLarge,
    check_embed,
    new_job_id,
    receive,
    validate_media_embed,
)
from postpost.simulator._media_files import Measured, measure, sniff
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA, media_fault
from postpost.simulator.world import World

POST_COLLECTION = "app.bsky.feed.post"
ACCESS_SCOPE = "com.atproto.access"
REFRESH_SCOPE = "com.atproto.refresh"
ACCESS_TTL = 7200
REFRESH_TTL = 90 * 24 * 3600
AUDIENCE = "did:web:sandbox.bsky"
RATE_LIMIT = 5000
RATE_WINDOW = 3600
MAX_GRAPHEMES = 300
MAX_BYTES = 3000

TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
URI_RE = re.compile(r"^\w+:(?://)?[^\s/][^\s]*$")
LANG_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
AT_URI_RE = re.compile(r"^at://([^/]+)/([^/]+)/([^/]+)$")
FACET_FIELDS = {
    "app.bsky.richtext.facet#link": "uri",
    "app.bsky.richtext.facet#mention": "did",
    "app.bsky.richtext.facet#tag": "tag",
}
EMBED_TYPES = frozenset(
    {
        "app.bsky.embed.images",
        "app.bsky.embed.external",
        "app.bsky.embed.record",
        "app.bsky.embed.recordWithMedia",
        "app.bsky.embed.video",
    }
)
_GRAPHEME = regex.compile(r"\X")
_RECORD_PREFIX = f"Invalid {POST_COLLECTION} record: "

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(slots=True)
class Record:
    """A stored AT Protocol record."""

    uri: str
    cid: str
    value: dict[str, Any]


def encode_tid(value: int) -> str:
    """A 64-bit integer as a 13-character base32-sortable TID."""
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def did_for_identifier(identifier: str) -> tuple[str, str]:
    """Map a login identifier (handle or ``did:plc:``) to ``(did, handle)``."""
    ident = identifier.strip()
    if ident.startswith("did:"):
        suffix = ident.rsplit(":", 1)[-1]
        return ident, f"{suffix}.sandbox.bsky"
    handle = ident.lstrip("@").lower()
    digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()
    return "did:plc:" + digest[:24], handle


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An XRPC error body ``{"error", "message"}``."""
    return JSONResponse({"error": error, "message": message}, status, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_ACCESS_HEADER = _b64(_compact({"alg": "HS256", "typ": "at+jwt"}))
_REFRESH_HEADER = _b64(_compact({"alg": "HS256", "typ": "refresh+jwt"}))
_SERVICE_HEADER = _b64(_compact({"alg": "HS256", "typ": "JWT"}))
UPLOAD_BLOB = "com.atproto.repo.uploadBlob"


def cid_for(obj: Any) -> str:
    """A CIDv1 (dag-cbor, sha2-256) string over the canonical JSON of ``obj``: ``bafyrei`` + 52 chars."""
    digest = hashlib.sha256(_compact(obj)).digest()
    return "b" + base64.b32encode(b"\x01\x71\x12\x20" + digest).decode().lower().rstrip("=")


def grapheme_length(text: str) -> int:
    """Number of extended grapheme clusters (never more than the code point count)."""
    if text.isascii():
        return len(text)
    return len(_GRAPHEME.findall(text))


def validate_post(record: dict[str, Any], text: str) -> str | None:
    """Check an ``app.bsky.feed.post`` record; return an error message or None.

    ``reply`` references are checked separately (they need the store).
    """
    byte_len = len(text.encode())
    if byte_len > MAX_BYTES:
        return _RECORD_PREFIX + f"Record/text must not be longer than {MAX_BYTES} characters"
    if len(text) > MAX_GRAPHEMES and grapheme_length(text) > MAX_GRAPHEMES:
        return _RECORD_PREFIX + f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
    created = record.get("createdAt")
    if created is None:
        return _RECORD_PREFIX + 'Record must have the property "createdAt"'
    if not isinstance(created, str) or not DATETIME_RE.match(created):
        return _RECORD_PREFIX + "Record/createdAt must be a valid atproto datetime (RFC-3339 with timezone)"
    facets = record.get("facets")
    if facets is not None:
        err = _validate_facets(facets, byte_len)
        if err:
            return _RECORD_PREFIX + err
    langs = record.get("langs")
    if langs is not None:
        if not isinstance(langs, list) or len(langs) > 3:
            return _RECORD_PREFIX + "Record/langs must be an array of at most 3 elements"
        for i, lang in enumerate(langs):
            if not isinstance(lang, str) or not LANG_RE.match(lang):
                return _RECORD_PREFIX + f"Record/langs/{i} must be a well-formed BCP 47 language tag"
    embed = record.get("embed")
    if embed is not None:
        err = _validate_embed(embed)
        if err:
            return _RECORD_PREFIX + err
    return None


def _validate_facets(facets: Any, byte_len: int) -> str | None:
    if not isinstance(facets, list):
        return "Record/facets must be an array"
    for i, facet in enumerate(facets):
        path = f"Record/facets/{i}"
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict):
            return f'{path} must have the property "index"'
        start, end = index.get("byteStart"), index.get("byteEnd")
        for name, value in (("byteStart", start), ("byteEnd", end)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return f"{path}/index/{name} must be a non-negative integer"
        assert isinstance(start, int) and isinstance(end, int)
        if start >= end:
            return f"{path}/index/byteStart ({start}) must be less than byteEnd ({end})"
        if end > byte_len:
            return f"{path}/index/byteEnd ({end}) is beyond the end of text ({byte_len} UTF-8 bytes)"
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            return f"{path}/features must be a non-empty array"
        for j, feature in enumerate(features):
            fpath = f"{path}/features/{j}"
            ftype = feature.get("$type") if isinstance(feature, dict) else None
            field = FACET_FIELDS.get(ftype) if isinstance(ftype, str) else None
            if field is None:
                return f"{fpath} has unsupported $type {ftype!r}"
            assert isinstance(feature, dict)
            value = feature.get(field)
            if not isinstance(value, str) or not value:
                return f'{fpath} must have the property "{field}"'
            if field == "uri" and not URI_RE.match(value):
                return f"{fpath}/uri must be a valid URI"
            if field == "did" and not value.startswith("did:"):
                return f"{fpath}/did must be a valid DID"
            if field == "tag" and (len(value.encode()) > 640 or grapheme_length(value) > 64):
                return f"{fpath}/tag must not be longer than 64 graphemes"
    return None


def _validate_embed(embed: Any) -> str | None:
    etype = embed.get("$type") if isinstance(embed, dict) else None
    if etype not in EMBED_TYPES:
        return f"Record/embed has unsupported $type {etype!r}"
    assert isinstance(embed, dict)
    if etype == "app.bsky.embed.external":
        ext = embed.get("external")
        if not isinstance(ext, dict):
            return 'Record/embed must have the property "external"'
        for name in ("uri", "title", "description"):
            if not isinstance(ext.get(name), str):
                return f'Record/embed/external must have the property "{name}"'
    elif etype == "app.bsky.embed.images":
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            return "Record/embed/images must be an array of 1 to 4 images"
        for i, img in enumerate(images):
            if not isinstance(img, dict) or not isinstance(img.get("image"), dict):
                return f'Record/embed/images/{i} must have the property "image"'
            if not isinstance(img.get("alt"), str):
                return f'Record/embed/images/{i} must have the property "alt"'
    return validate_media_embed(embed)


class BlueskyFake(Fake):
    """A Bluesky PDS (sessions, post records, blobs, reads) and the video service."""

    name = "bluesky"

    def __init__(
        self,
        world: World,
        *,
        processing_seconds: float = 2.0,
        blob_limit: int = 100_000_000,
        video_limit: int = 100_000_000,
        video_max_seconds: float = 180.0,
    ) -> None:
        super().__init__(world)
        self.processing_seconds = processing_seconds
        self.blob_limit = blob_limit
        self.video_limit = video_limit
        self.video_max_seconds = video_max_seconds
        self.records: dict[tuple[str, str, str], Record] = {}
        self.rkeys: dict[tuple[str, str], list[str]] = {}
        self.handles: dict[str, str] = {}
        self.revoked_refresh: set[str] = set()
        self.blobs: dict[str, dict[str, Blob]] = {}  # did -> cid -> blob
        self.jobs: dict[str, Job] = {}
        self.processed: dict[tuple[str, str], Blob] = {}  # (did, source cid) -> processed video
        self.last_tid_micros = 0
        self._methods: dict[str, tuple[str, Handler]] = {
            "com.atproto.server.createSession": ("POST", self.create_session),
            "com.atproto.server.refreshSession": ("POST", self.refresh_session),
            "com.atproto.server.getSession": ("GET", self.get_session),
            "com.atproto.repo.createRecord": ("POST", self.create_record),
            "com.atproto.repo.getRecord": ("GET", self.get_record),
            "com.atproto.repo.listRecords": ("GET", self.list_records),
            "com.atproto.repo.uploadBlob": ("POST", self.upload_blob),
            "com.atproto.repo.describeRepo": ("GET", self.describe_repo),
            "com.atproto.server.getServiceAuth": ("GET", self.get_service_auth),
            "app.bsky.video.uploadVideo": ("POST", self.upload_video),
            "app.bsky.video.getJobStatus": ("GET", self.get_job_status),
        }

    def forget(self, account: str | None = None) -> None:
        if account is None:
            self.records.clear()
            self.rkeys.clear()
            self.handles.clear()
            self.revoked_refresh.clear()
            self.blobs.clear()
            self.jobs.clear()
            self.processed.clear()
            return
        self.blobs.pop(account, None)
        for job_id in [k for k, job in self.jobs.items() if job.did == account]:
            del self.jobs[job_id]
        for processed in [k for k in self.processed if k[0] == account]:
            del self.processed[processed]
        for record in [k for k in self.records if k[0] == account]:
            del self.records[record]
        for listing in [k for k in self.rkeys if k[0] == account]:
            del self.rkeys[listing]
        self.handles.pop(account, None)

    def account_key(self, account: str) -> str:
        return account if account.startswith("did:") else did_for_identifier(account)[0]

    def next_tid(self) -> str:
        """A fresh, strictly increasing TID."""
        self.last_tid_micros = max(int(self.world.clock() * 1_000_000), self.last_tid_micros + 1)
        return encode_tid((self.last_tid_micros << 10) | 0x1F)

    def routes(self) -> list[BaseRoute]:
        """Routes relative to the PDS base URL."""
        return [Route("/xrpc/{nsid}", self.dispatch, methods=["GET", "POST"])]

    async def dispatch(self, request: Request) -> Response:
        """Route ``/xrpc/<nsid>`` to its handler."""
        entry = self._methods.get(request.path_params["nsid"])
        if entry is None:
            return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")
        method, handler = entry
        if request.method != method:
            msg = f"Incorrect HTTP method ({request.method}) expected {method}"
            return xrpc_error(405, "InvalidRequest", msg)
        return await handler(request)

    # ----- tokens ----------------------------------------------------------

    def _sign(self, header: str, payload: dict[str, Any]) -> str:
        signing_input = f"{header}.{_b64(_compact(payload))}"
        sig = hmac.new(self.world.secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(sig)}"

    def issue_session(self, did: str) -> dict[str, Any]:
        """Issue a fresh access/refresh pair for ``did`` (session response body)."""
        iat = int(self.world.clock())
        access = {
            "scope": ACCESS_SCOPE,
            "sub": did,
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + ACCESS_TTL,
            "jti": secrets.token_urlsafe(12),
        }
        refresh = {
            "scope": REFRESH_SCOPE,
            "sub": did,
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + REFRESH_TTL,
            "jti": secrets.token_urlsafe(12),
        }
        return {
            "accessJwt": self._sign(_ACCESS_HEADER, access),
            "refreshJwt": self._sign(_REFRESH_HEADER, refresh),
            "handle": self._handle(did),
            "did": did,
            "active": True,
        }

    def _handle(self, did: str) -> str:
        return self.handles.get(did) or f"{did.rsplit(':', 1)[-1]}.sandbox.bsky"

    def _decode(self, request: Request) -> dict[str, Any] | None:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        parts = token.strip().split(".")
        if scheme.lower() != "bearer" or len(parts) != 3:
            return None
        expected = hmac.new(self.world.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            payload = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    def _check(self, request: Request, scope: str) -> dict[str, Any] | JSONResponse:
        """Verify a bearer token of ``scope``; return its payload or the XRPC error response."""
        payload = self._decode(request)
        if payload is None:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if payload.get("exp", 0) <= self.world.clock():
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        if payload.get("scope") != scope:
            return xrpc_error(400, "InvalidToken", "Bad token scope")
        return payload

    def _rl_headers(self, *, remaining: int = RATE_LIMIT - 1, reset: int | None = None) -> dict[str, str]:
        if reset is None:
            reset = (int(self.world.clock()) // RATE_WINDOW + 1) * RATE_WINDOW
        return {
            "ratelimit-limit": str(RATE_LIMIT),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{RATE_LIMIT};w={RATE_WINDOW}",
        }

    # ----- server.* --------------------------------------------------------

    async def create_session(self, request: Request) -> Response:
        """``com.atproto.server.createSession``."""
        body = await _json_object(request)
        if body is None:
            return xrpc_error(400, "InvalidRequest", "Input must be a JSON object")
        for name in ("identifier", "password"):
            if not isinstance(body.get(name), str):
                return xrpc_error(400, "InvalidRequest", f'Input must have the property "{name}"')
        if not body["password"] or not body["identifier"].strip():
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        did, handle = did_for_identifier(body["identifier"])
        if not did.startswith("did:plc:"):
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        if not body["identifier"].strip().startswith("did:"):
            self.handles[did] = handle
        return JSONResponse(self.issue_session(did))

    async def refresh_session(self, request: Request) -> Response:
        """``com.atproto.server.refreshSession``: rotate the refresh token."""
        payload = self._check(request, REFRESH_SCOPE)
        if isinstance(payload, JSONResponse):
            return payload
        jti = str(payload.get("jti"))
        if jti in self.revoked_refresh:
            return xrpc_error(400, "ExpiredToken", "Token has been revoked")
        self.revoked_refresh.add(jti)
        return JSONResponse(self.issue_session(str(payload["sub"])))

    async def get_session(self, request: Request) -> Response:
        """``com.atproto.server.getSession``."""
        payload = self._check(request, ACCESS_SCOPE)
        if isinstance(payload, JSONResponse):
            return payload
        did = str(payload["sub"])
        return JSONResponse({"handle": self._handle(did), "did": did, "active": True})

    # ----- repo.* ----------------------------------------------------------

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return xrpc_error(401, "AuthenticationRequired", "Token could not be verified")
        if fault == "invalid-content":
            return xrpc_error(
                400, "InvalidRequest", _RECORD_PREFIX + "disallowed content", self._rl_headers()
            )
        if fault == "rate-limited":
            reset = int(self.world.clock() + self.world.hold_seconds + 0.999)
            headers = self._rl_headers(remaining=0, reset=reset)
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        return xrpc_error(500, "InternalServerError", "Internal Server Error")

    async def create_record(self, request: Request) -> Response:
        """``com.atproto.repo.createRecord`` for ``app.bsky.feed.post``."""
        payload = self._check(request, ACCESS_SCOPE)
        if isinstance(payload, JSONResponse):
            return payload
        did = str(payload["sub"])
        headers = self._rl_headers()
        body = await _json_object(request)
        if body is None:
            return xrpc_error(400, "InvalidRequest", "Input must be a JSON object", headers)
        record = body.get("record")
        text = record.get("text") if isinstance(record, dict) else None
        rkey = body.get("rkey")
        attempt_key = rkey if isinstance(rkey, str) and rkey else f"text:{text}"
        fault = self.world.fault_for("bluesky", did, text if isinstance(text, str) else "", attempt_key)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)

        for name in ("repo", "collection", "record"):
            if name not in body:
                return xrpc_error(400, "InvalidRequest", f'Input must have the property "{name}"', headers)
        if body["repo"] != did:
            return xrpc_error(400, "InvalidRequest", "Invalid repo", headers)
        collection = body["collection"]
        if collection != POST_COLLECTION:
            msg = f"Unsupported collection in sandbox: {collection}"
            return xrpc_error(400, "InvalidRequest", msg, headers)
        if not isinstance(record, dict):
            return xrpc_error(400, "InvalidRequest", "Input/record must be an object", headers)
        rtype = record.setdefault("$type", collection)
        if rtype != collection:
            msg = f"Invalid $type: expected {collection}, got {rtype}"
            return xrpc_error(400, "InvalidRequest", msg, headers)
        if not isinstance(text, str):
            return xrpc_error(
                400, "InvalidRequest", _RECORD_PREFIX + 'Record must have the property "text"', headers
            )
        if rkey is None:
            rkey = self.next_tid()
        elif not isinstance(rkey, str) or not TID_RE.match(rkey):
            msg = f"Invalid record key for {collection}: {rkey!r} is not a valid TID"
            return xrpc_error(400, "InvalidRequest", msg, headers)
        uri = f"at://{did}/{collection}/{rkey}"
        if (did, collection, rkey) in self.records:
            return xrpc_error(400, "InvalidRequest", f"Record already exists at {uri}", headers)
        error = validate_post(record, text)
        if error is None and "reply" in record and not self._reply_ok(record["reply"]):
            error = "Invalid reply reference"
        if error is not None:
            return xrpc_error(400, "InvalidRequest", error, headers)
        blobs = check_embed(record.get("embed") or {}, self.blobs.get(did, {}))
        if isinstance(blobs, tuple):
            return xrpc_error(400, blobs[0], blobs[1], headers)
        if blobs and (fault if fault in MEDIA else media_fault(text, self.name)) == "media-processing-failed":
            return xrpc_error(400, "InvalidRequest", "The post's media could not be processed", headers)

        cid = cid_for(record)
        rev = self.next_tid()
        self.records[(did, collection, rkey)] = Record(uri, cid, record)
        bisect.insort(self.rkeys.setdefault((did, collection), []), rkey)
        reply = record.get("reply")
        parent = reply["parent"]["uri"] if isinstance(reply, dict) else None
        self.world.accept("bluesky", did, uri, text, parent, [blob.listing() for blob in blobs])
        commit = {"cid": cid_for({"did": did, "rev": rev, "data": cid}), "rev": rev}
        response = JSONResponse(
            {"uri": uri, "cid": cid, "commit": commit, "validationStatus": "valid"}, headers=headers
        )
        return await self.finish(fault, response)

    def _reply_ok(self, reply: Any) -> bool:
        if not isinstance(reply, dict):
            return False
        for name in ("root", "parent"):
            ref = reply.get(name)
            if not isinstance(ref, dict):
                return False
            uri, cid = ref.get("uri"), ref.get("cid")
            m = AT_URI_RE.match(uri) if isinstance(uri, str) else None
            if m is None:
                return False
            found = self.records.get((m.group(1), m.group(2), m.group(3)))
            if found is None or found.cid != cid:
                return False
        return True

    def _repo_param(self, request: Request, names: tuple[str, ...]) -> tuple[str, ...] | JSONResponse:
        values = []
        for name in names:
            value = request.query_params.get(name)
            if not value:
                return xrpc_error(400, "InvalidRequest", f'Params must have the property "{name}"')
            values.append(value)
        if not values[0].startswith("did:"):
            values[0] = did_for_identifier(values[0])[0]
        return tuple(values)

    async def get_record(self, request: Request) -> Response:
        """``com.atproto.repo.getRecord`` (no auth)."""
        params = self._repo_param(request, ("repo", "collection", "rkey"))
        if isinstance(params, JSONResponse):
            return params
        repo, collection, rkey = params
        found = self.records.get((repo, collection, rkey))
        want_cid = request.query_params.get("cid")
        if found is None or (want_cid and want_cid != found.cid):
            return xrpc_error(
                400, "RecordNotFound", f"Could not locate record: at://{repo}/{collection}/{rkey}"
            )
        return JSONResponse({"uri": found.uri, "cid": found.cid, "value": found.value})

    async def list_records(self, request: Request) -> Response:
        """``com.atproto.repo.listRecords``: newest first unless ``reverse=true``; rkey cursor."""
        params = self._repo_param(request, ("repo", "collection"))
        if isinstance(params, JSONResponse):
            return params
        repo, collection = params
        q = request.query_params
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return xrpc_error(400, "InvalidRequest", "limit must be between 1 and 100")
        keys = self.rkeys.get((repo, collection), [])
        cursor = q.get("cursor")
        if q.get("reverse", "").lower() == "true":
            start = bisect.bisect_right(keys, cursor) if cursor else 0
            page = keys[start : start + limit]
        else:
            end = bisect.bisect_left(keys, cursor) if cursor else len(keys)
            page = keys[max(0, end - limit) : end][::-1]
        records = []
        for rkey in page:
            rec = self.records[(repo, collection, rkey)]
            records.append({"uri": rec.uri, "cid": rec.cid, "value": rec.value})
        out: dict[str, Any] = {"records": records}
        if len(page) == limit:
            out["cursor"] = page[-1]
        return JSONResponse(out)

    # ----- media: blobs and the video service --------------------------------------

    async def upload_blob(self, request: Request) -> Response:
        """``com.atproto.repo.uploadBlob``: store the raw body as a blob of the caller's repo."""
        payload = self._check(request, ACCESS_SCOPE)
        if isinstance(payload, JSONResponse):
            return payload
        did, headers = str(payload["sub"]), self._rl_headers()
        if int(request.headers.get("content-length") or 0) > self.blob_limit:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large", headers)
        try:
            upload, cid, head = await receive(request.stream(), self.blob_limit)
        except TooLarge:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large", headers)
        declared = request.headers.get("content-type", "").split(";")[0].strip() or "application/octet-stream"
        mime, size = sniff(head) or declared, upload.size
        measured = await measure(upload, mime) if mime.startswith(("image/", "video/")) else None
        upload.discard()
        blob = Blob(cid, mime, size, measured)
        self.blobs.setdefault(did, {})[cid] = blob
        return JSONResponse({"blob": blob.ref}, headers=headers)

    async def describe_repo(self, request: Request) -> Response:
        """``com.atproto.repo.describeRepo`` (no auth): the repo's DID document names this PDS."""
        params = self._repo_param(request, ("repo",))
        if isinstance(params, JSONResponse):
            return params
        did = params[0]
        handle = self._handle(did)
        document = {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": did,
            "alsoKnownAs": [f"at://{handle}"],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": _origin(request),
                }
            ],
        }
        collections = sorted({c for (d, c) in self.rkeys if d == did})
        return JSONResponse(
            {
                "handle": handle,
                "did": did,
                "didDoc": document,
                "collections": collections,
                "handleIsCorrect": True,
            }
        )

    async def get_service_auth(self, request: Request) -> Response:
        """``com.atproto.server.getServiceAuth``: a token for another service, acting as the caller."""
        payload = self._check(request, ACCESS_SCOPE)
        if isinstance(payload, JSONResponse):
            return payload
        q, now = request.query_params, self.world.clock()
        if not q.get("aud"):
            return xrpc_error(400, "InvalidRequest", 'Params must have the property "aud"')
        try:
            exp = int(q["exp"]) if q.get("exp") else int(now) + 60
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "exp must be an integer")
        lxm = q.get("lxm")
        if exp < now:
            return xrpc_error(400, "BadExpiration", "expiration is in past")
        if exp - now > 3600:
            msg = "cannot request a token with an expiration more than an hour in the future"
            return xrpc_error(400, "BadExpiration", msg)
        if lxm is None and exp - now > 60:
            msg = "cannot request a method-less token with an expiration more than a minute in the future"
            return xrpc_error(400, "BadExpiration", msg)
        claims = {
            "iss": payload["sub"],
            "aud": q["aud"],
            "exp": exp,
            "iat": int(now),
            "jti": secrets.token_hex(8),
        }
        if lxm:
            claims["lxm"] = lxm
        return JSONResponse({"token": self._sign(_SERVICE_HEADER, claims)}, headers=self._rl_headers())

    async def upload_video(self, request: Request) -> Response:
        """``app.bsky.video.uploadVideo`` on the video service: start processing a video."""
        did = request.query_params.get("did")
        claims = self._decode(request)
        audience = "did:web:" + request.headers.get("host", "").replace(":", "%3A")
        if claims is None or claims.get("lxm") != UPLOAD_BLOB or claims.get("exp", 0) <= self.world.clock():
            return xrpc_error(
                401, "AuthenticationRequired", "A valid service token for uploadBlob is required"
            )
        if claims.get("aud") != audience or not did or claims.get("iss") != did:
            return xrpc_error(
                401, "AuthenticationRequired", f"The service token must come from {did} for {audience}"
            )
        if int(request.headers.get("content-length") or 0) > self.video_limit:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large")
        try:
            upload, cid, head = await receive(request.stream(), self.video_limit)
        except TooLarge:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large")
        now, fault = self.world.clock(), self._queued_media_fault(did)
        job = Job(new_job_id(), did, now, now, self.processed.get((did, cid)))
        if job.blob is not None:
            upload.discard()
            job.error, job.keeps_blob = ("already_exists", "Video already processed"), True
        else:
            job.ready_at = now + (
                self.world.slow_seconds if fault == "media-slow" else self.processing_seconds
            )
            mime = sniff(head) or ""
            measured = await measure(upload, mime) if mime.startswith("video/") else None
            job.error = _video_problem(measured, self.video_max_seconds, fault)
            if job.error is None and measured is not None:
                job.blob = Blob(cid, "video/mp4", measured.size, measured)
                self.processed[(did, cid)] = job.blob
                self.blobs.setdefault(did, {})[cid] = job.blob
            upload.discard()
        self.jobs[job.id] = job
        return JSONResponse(job.status(now))

    async def get_job_status(self, request: Request) -> Response:
        """``app.bsky.video.getJobStatus`` (no auth): where a processing job stands."""
        job = self.jobs.get(request.query_params.get("jobId", ""))
        if job is None:
            return xrpc_error(400, "InvalidRequest", "Job not found")
        return JSONResponse({"jobStatus": job.status(self.world.clock())})

    def _queued_media_fault(self, did: str) -> str | None:
        """A processing fault at the head of the account's control queue, taken by this video upload."""
        for queue in self.world.faults.pending():
            if (queue["platform"], queue["account"]) == (self.name, did):
                faults = queue["faults"]
                if (
                    isinstance(faults, list)
                    and faults
                    and faults[0] in ("media-slow", "media-processing-failed")
                ):
                    return self.world.faults.pop(self.name, did)
        return None


def _video_problem(
    measured: Measured | None, max_seconds: float, fault: str | None
) -> tuple[str, str] | None:
    """Why processing a video fails, if it does."""
    if measured is None or measured.mime_type not in ("video/mp4", "video/quicktime"):
        return "invalid_video", "The file is not a supported video"
    if measured.duration is not None and measured.duration > max_seconds:
        return "video_too_long", f"Video is too long: at most {max_seconds:g} seconds"
    if fault == "media-processing-failed":
        return "encoding_failed", "The video could not be encoded"
    return None


def _origin(request: Request) -> str:
    """This PDS's origin as clients reach it (the mount point included)."""
    host = request.headers.get("host", "sandbox.bsky")
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}"


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


FAKE = BlueskyFake
