-- The one outbox: a change record names the entity it is about (its kind and id), who made the
-- change and which fields changed, so that every resource's writes leave their records here, not
-- only API keys'. Records already stored keep their seq; they were all about API keys, and their
-- actor was not recorded. An instance of an older release writes `key_changes`: stop every one
-- before an instance of this release migrates the database.
CREATE TABLE changes (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  BLOB    NOT NULL,
    entity           TEXT    NOT NULL,
    entity_id        BLOB    NOT NULL,
    kind             TEXT    NOT NULL,
    -- `api_key:<id>`, `operator`, `system`, or `unrecorded` for records older than this column.
    actor            TEXT    NOT NULL,
    -- The changed fields' names in the API, as a JSON array; empty for a created entity.
    fields           TEXT    NOT NULL,
    -- The key digests the change concerns, 32 bytes each (a created key's, a rotation's new then old).
    digests          BLOB    NOT NULL,
    at               INTEGER NOT NULL
) STRICT;

INSERT INTO changes (seq, organization_id, entity, entity_id, kind, actor, fields, digests, at)
SELECT seq, organization_id, 'api_key', api_key_id, kind, 'unrecorded', '[]', digests, at
FROM key_changes ORDER BY seq;

DROP TABLE key_changes;
