-- The one outbox: a change record names the entity it is about (its kind and id), who made the
-- change and which fields changed, so that every resource's writes leave their records here, not
-- only API keys'. Records already stored keep their seq; they were all about API keys, and their
-- actor was not recorded. An instance of an older release writes `key_changes`: stop every one
-- before an instance of this release migrates the database.
ALTER TABLE key_changes RENAME TO changes;
ALTER TABLE changes RENAME COLUMN api_key_id TO entity_id;
ALTER TABLE changes DROP CONSTRAINT key_changes_kind_check;
ALTER TABLE changes
    -- `api_key` or `organization`.
    ADD COLUMN entity TEXT NOT NULL DEFAULT 'api_key',
    -- `api_key:<id>`, `operator`, `system`, or `unrecorded` for records older than this column.
    ADD COLUMN actor TEXT NOT NULL DEFAULT 'unrecorded',
    -- The changed fields' names in the API; empty for a created entity.
    ADD COLUMN fields JSONB NOT NULL DEFAULT '[]';
ALTER TABLE changes
    ALTER COLUMN entity DROP DEFAULT,
    ALTER COLUMN actor DROP DEFAULT,
    ALTER COLUMN fields DROP DEFAULT;
