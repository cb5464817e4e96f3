"""Schemathesis hooks for `cargo xtask fuzz-api`: keep the run's own credentials alive.

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
