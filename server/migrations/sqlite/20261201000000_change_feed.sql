-- The change feed: every committed change to a key leaves a record here, in the transaction that
-- made it. Every instance's caches follow these records in `seq` order; later features (audit
-- log, webhooks) read the same records, so this is the one outbox of the system.
CREATE TABLE key_changes (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  BLOB    NOT NULL,
    api_key_id       BLOB    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('created', 'updated', 'revoked', 'rotated')),
    -- The digests the change concerns, 32 bytes each (a created key's, a rotation's new then old).
    digests          BLOB    NOT NULL,
    at               INTEGER NOT NULL
) STRICT;

-- Facts about the database itself, such as the fingerprint of the pepper it was created with.
CREATE TABLE settings (
    name   TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
) STRICT;
