-- Organizations, their API keys, and the digests of the keys' secrets (never the secrets).
CREATE TABLE organizations (
    id          BLOB    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id                          BLOB    PRIMARY KEY NOT NULL,
    organization_id             BLOB    NOT NULL REFERENCES organizations (id),
    name                        TEXT    NOT NULL,
    description                 TEXT,
    user_id                     TEXT,
    customer_id                 TEXT,
    billing_id                  TEXT,
    prefix                      TEXT    NOT NULL,
    masked_key                  TEXT    NOT NULL,
    status                      TEXT    NOT NULL CHECK (status IN ('enabled', 'disabled')),
    scopes                      TEXT    NOT NULL,
    metadata                    TEXT    NOT NULL,
    rate_limit_limit            INTEGER,
    rate_limit_window_ms        INTEGER,
    credits_remaining           INTEGER,
    credits_refill_amount       INTEGER,
    credits_refill_interval_ms  INTEGER,
    credits_refilled_at         INTEGER NOT NULL,
    credits_version             INTEGER NOT NULL,
    usage_count                 INTEGER NOT NULL,
    revision                    INTEGER NOT NULL,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    last_used_at                INTEGER,
    expires_at                  INTEGER,
    deleted_at                  INTEGER
) STRICT;

-- Listing is newest first within an organization; ids are UUIDv7, so id order is time order.
CREATE INDEX api_keys_by_organization ON api_keys (organization_id, id);
CREATE INDEX api_keys_by_user ON api_keys (organization_id, user_id, id);
CREATE INDEX api_keys_by_customer ON api_keys (organization_id, customer_id, id);

-- A key has one current secret (expires_at NULL) and, after rotations, older ones that keep
-- working until their grace period ends and then verify as revoked.
CREATE TABLE api_key_secrets (
    digest      BLOB    PRIMARY KEY NOT NULL,
    api_key_id  BLOB    NOT NULL REFERENCES api_keys (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
) STRICT;

CREATE INDEX api_key_secrets_by_key ON api_key_secrets (api_key_id);
