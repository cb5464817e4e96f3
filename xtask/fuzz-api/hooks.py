"""Schemathesis hooks for `cargo xtask fuzz-api`: keep the run's own credentials alive, and send
no metadata the contract's description refuses.

A write the fuzzer aims at a root key it authenticates with (revoke, disable, narrow its scopes,
expire it, rotate it away) would turn every later request into a 401, and the run would test
nothing from then on. Such a write is sent to the same organization's decoy key instead, which
exercises the same code path. `KEYWARD_FUZZ_PROTECTED` holds `root_id=decoy_id` pairs.
"""

import os

import schemathesis

PROTECTED = dict(
    pair.split("=", 1) for pair in os.environ.get("KEYWARD_FUZZ_PROTECTED", "").split(",") if "=" in pair
)
WRITES = {"PATCH", "PUT", "DELETE", "POST"}


@schemathesis.hook
def before_call(context, case, kwargs):
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
