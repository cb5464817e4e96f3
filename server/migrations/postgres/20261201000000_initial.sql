-- Organizations, their API keys, the digests of the keys' secrets (never the secrets), the
-- change feed, and facts about the database. The same model as SQLite's migrations, in
-- PostgreSQL's types.
CREATE TABLE organizations (
    id          UUID    PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE api_keys (
    id                          UUID    PRIMARY KEY,
    organization_id             UUID    NOT NULL REFERENCES organizations (id),
    name                        TEXT    NOT NULL,
    description                 TEXT,
    user_id                     TEXT,
    customer_id                 TEXT,
    billing_id                  TEXT,
    prefix                      TEXT    NOT NULL,
    masked_key                  TEXT    NOT NULL,
    status                      TEXT    NOT NULL CHECK (status IN ('enabled', 'disabled')),
    scopes                      JSONB   NOT NULL,
    metadata                    JSONB   NOT NULL,
    rate_limit_limit            INTEGER,
    rate_limit_window_ms        BIGINT,
    credits_remaining           BIGINT,
    credits_refill_amount       BIGINT,
    credits_refill_interval_ms  BIGINT,
    credits_refilled_at         BIGINT  NOT NULL,
    credits_version             BIGINT  NOT NULL,
    usage_count                 BIGINT  NOT NULL,
    revision                    BIGINT  NOT NULL,
    created_at                  BIGINT  NOT NULL,
    updated_at                  BIGINT  NOT NULL,
    last_used_at                BIGINT,
    expires_at                  BIGINT,
    deleted_at                  BIGINT
);

-- Listing is newest first within an organization; ids are UUIDv7, so id order is time order.
CREATE INDEX api_keys_by_organization ON api_keys (organization_id, id);
CREATE INDEX api_keys_by_user ON api_keys (organization_id, user_id, id);
CREATE INDEX api_keys_by_customer ON api_keys (organization_id, customer_id, id);

-- A key has one current secret (expires_at NULL) and, after rotations, older ones that keep
-- working until their grace period ends and then verify as revoked.
CREATE TABLE api_key_secrets (
    digest      BYTEA   PRIMARY KEY,
    api_key_id  UUID    NOT NULL REFERENCES api_keys (id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT
);

CREATE INDEX api_key_secrets_by_key ON api_key_secrets (api_key_id);

-- The change feed: every committed change to a key leaves a record here, in the transaction that
-- made it, and a NOTIFY on `keyward_changes` with its seq. Writers take one advisory lock before
-- they number a record, so records commit in seq order and a follower reading `seq > last` never
-- skips one that commits later.
CREATE TABLE key_changes (
    seq              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id  UUID    NOT NULL,
    api_key_id       UUID    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('created', 'updated', 'revoked', 'rotated')),
    digests          BYTEA   NOT NULL,
    at               BIGINT  NOT NULL
);

-- Facts about the database itself, such as the fingerprint of the pepper it was created with.
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
