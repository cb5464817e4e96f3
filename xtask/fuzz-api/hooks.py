"""Schemathesis hooks for `cargo xtask fuzz-api`: keep the run's own credentials alive, send
consistency tokens the server gave, scope queries that parse, and no metadata the contract's
description refuses.

A write the fuzzer aims at a root key it authenticates with (revoke, disable, narrow its scopes,
expire it, rotate it away) would turn every later request into a 401, and the run would test
nothing from then on. Such a write is sent to the same organization's decoy key instead, which
exercises the same code path. `KEYWARD_FUZZ_PROTECTED` holds `root_id=decoy_id` pairs.
"""

import os
import re

import schemathesis

PROTECTED = dict(
    pair.split("=", 1) for pair in os.environ.get("KEYWARD_FUZZ_PROTECTED", "").split(",") if "=" in pair
)
WRITES = {"PATCH", "PUT", "DELETE", "POST"}


# A scope query that parses, standing in for the strings the fuzzer makes up: the contract's
# schema for `scope_query` is a string of 1 to 1000 characters, and its grammar (balanced
# parentheses, JSON-quoted targets) is prose in its description, beyond what a pattern can say, so
# almost every string the fuzzer means as valid is refused with a 422 by design. The grammar is
# tested in `domain/scope_query.rs` (units and a property) and `tests/api/verify.rs`.
KNOWN_QUERY = 'invoices:read OR (invoices:write AND reports:read["eu 1"])'


# The change record every fresh store has (its first start's root key): a consistency token the
# server gave, standing in for the well-formed ones the fuzzer makes up, which name changes never
# made and are refused with a 400 by design (as a made-up `If-Match` is with a 412).
KNOWN_TOKEN = "ct1_0000000000000001"
TOKEN = re.compile(r"^ct1_[0-7][0-9a-f]{15}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    # Data the fuzzer means as valid gets a real token; data meant as invalid keeps its own value
    # unless it is well-formed (and would name a change never made).
    valid = case.meta is None or not case.meta.generation.mode.is_negative
    for name in list(headers):
        if name.lower() == "keyward-consistency-token" and (valid or TOKEN.match(str(headers[name]))):
            headers[name] = KNOWN_TOKEN
    if valid and isinstance(case.body, dict) and isinstance(case.body.get("scope_query"), str):
        case.body["scope_query"] = KNOWN_QUERY
    # A revoked key is kept and shown with `include_deleted=true`, by design (its record stays for
    # audit); the stateful phase's use-after-free check (ST301) reads a key again after deleting
    # it and would take that for a revoked key still served. Its reads there ask without the flag,
    # so the check still holds every revoked key to a 404.
    phase = getattr(getattr(case.meta, "phase", None), "name", None)
    if str(getattr(phase, "value", phase)) == "stateful" and case.method.upper() == "GET" and case.query:
        case.query.pop("include_deleted", None)
    if case.method.upper() not in WRITES or not case.path_parameters:
        return
    target = case.path_parameters.get("api_key_id")
    if isinstance(target, str) and target.lower() in PROTECTED:
        case.path_parameters["api_key_id"] = PROTECTED[target.lower()]


def _holds_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


@schemathesis.hook
def filter_body(context, body):
    """A key's `metadata` is free-form JSON in the contract, but no key or string in it may hold a
    NUL, which PostgreSQL cannot store. OpenAPI 3.0 could say so only with a recursive schema that
    every generated client would turn into a type of its own instead of a plain JSON object, so the
    rule is in the schema's description (and tests/api/errors.rs checks the 422 it gets); the
    fuzzer's valid bodies keep to it here."""
    return not (isinstance(body, dict) and _holds_nul(body.get("metadata")))
