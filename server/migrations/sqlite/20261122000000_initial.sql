-- Organizations and their API keys. Only a digest of each key's secret is kept.
CREATE TABLE organizations (
    id          BLOB    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id               BLOB    PRIMARY KEY NOT NULL,
    organization_id  BLOB    NOT NULL REFERENCES organizations (id),
    digest           BLOB    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    description      TEXT,
    user_id          TEXT,
    customer_id      TEXT,
    billing_id       TEXT,
    prefix           TEXT    NOT NULL,
    masked_key       TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('enabled', 'disabled')),
    scopes           TEXT    NOT NULL,
    metadata         TEXT    NOT NULL,
    revision         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_used_at     INTEGER,
    expires_at       INTEGER,
    deleted_at       INTEGER
) STRICT;

-- Listing is newest first within an organization; ids are UUIDv7, so id order is time order.
CREATE INDEX api_keys_by_organization ON api_keys (organization_id, id);
CREATE INDEX api_keys_by_user ON api_keys (organization_id, user_id, id);
CREATE INDEX api_keys_by_customer ON api_keys (organization_id, customer_id, id);
