"""Drives a live Keyward server through the Python client generated from openapi.yaml.

Run by `cargo xtask clients` with the generated package on the path and KEYWARD_URL and
KEYWARD_KEY set: create, list, view, update, verify, rotate and delete a key, checking each
answer as a user of the client would see it.
"""

import os
import sys
import uuid

from keyward_client import AuthenticatedClient
from keyward_client.api.api_keys import (
    api_key_create,
    api_key_delete,
    api_key_list,
    api_key_rotate,
    api_key_update,
    api_key_view,
)
from keyward_client.api.verification import api_key_verify
from keyward_client.models import (
    ApiKeyCreate,
    ApiKeyCreateMetadata,
    ApiKeyRotate,
    ApiKeyStatus,
    ApiKeyUpdate,
    Problem,
    RateLimit,
    Scope,
    ScopeAccess,
    ScopeCheck,
    VerifyCode,
    VerifyRequest,
)


def expect(condition, what):
    if not condition:
        sys.exit(f"python client: {what}")


def main():
    client = AuthenticatedClient(base_url=os.environ["KEYWARD_URL"], token=os.environ["KEYWARD_KEY"])
    with client:
        metadata = ApiKeyCreateMetadata.from_dict({"plan": "pro"})
        customer = f"cus_py_{uuid.uuid4().hex[:12]}"
        created = api_key_create.sync(
            client=client,
            body=ApiKeyCreate(
                name="python client",
                customer_id=customer,
                scopes=[Scope(resource="invoices", access=ScopeAccess.READ)],
                metadata=metadata,
                rate_limit=RateLimit(limit=100, window_ms=60_000),
            ),
        )
        expect(not isinstance(created, Problem) and created is not None, f"create: {created}")
        key_id, secret = created.api_key.id, created.key
        expect(created.api_key.name == "python client", "create: the name")

        listed = api_key_list.sync(client=client, customer_id=customer)
        expect(not isinstance(listed, Problem), f"list: {listed}")
        expect([item.id for item in listed.api_keys] == [key_id], f"list: {listed.api_keys}")

        viewed = api_key_view.sync(key_id, client=client)
        expect(not isinstance(viewed, Problem), f"view: {viewed}")
        expect(viewed.rate_limit.limit == 100 and viewed.metadata["plan"] == "pro", f"view: {viewed}")

        updated = api_key_update.sync(key_id, client=client, body=ApiKeyUpdate(name="renamed", description=None))
        expect(not isinstance(updated, Problem), f"update: {updated}")
        expect(updated.name == "renamed" and updated.revision == viewed.revision + 1, f"update: {updated}")

        verdict = api_key_verify.sync(
            client=client,
            body=VerifyRequest(key=secret, scopes=[ScopeCheck(resource="invoices", access=ScopeAccess.READ)]),
        )
        expect(verdict.valid and verdict.code == VerifyCode.VALID, f"verify: {verdict}")

        rotated = api_key_rotate.sync(key_id, client=client, body=ApiKeyRotate(grace_period_ms=0))
        expect(not isinstance(rotated, Problem) and rotated.key != secret, f"rotate: {rotated}")
        old = api_key_verify.sync(client=client, body=VerifyRequest(key=secret))
        expect(not old.valid, f"the rotated-away secret still verifies: {old}")
        new = api_key_verify.sync(client=client, body=VerifyRequest(key=rotated.key))
        expect(new.valid, f"the new secret: {new}")

        deleted = api_key_delete.sync(key_id, client=client)
        expect(not isinstance(deleted, Problem) and deleted.status == ApiKeyStatus.ENABLED, f"delete: {deleted}")
        gone = api_key_view.sync(key_id, client=client)
        expect(isinstance(gone, Problem) and gone.status == 404, f"view after delete: {gone}")
        revoked = api_key_verify.sync(client=client, body=VerifyRequest(key=rotated.key))
        expect(revoked.code == VerifyCode.REVOKED, f"verify after delete: {revoked}")
    print("python client: create, list, view, update, verify, rotate and delete all answered as documented")


if __name__ == "__main__":
    main()
