-- Root keys store their role (a marker scope no request can name, then the scopes the role stood
-- for when they were made) instead of only those scopes, so that they hold the scopes a later
-- release gives their role. This rewrites the root keys older releases made: an organization's
-- first key, made with it (at its `created_at`), named `root`, whose scopes are still exactly
-- those of a root key or of the instance admin's. A key whose scopes were changed since keeps
-- them, as does any other key. It leaves no change record: what the API shows of a root key (its
-- role's scopes) is what it showed before, and no instance serves while a migration runs.

UPDATE api_keys SET scopes = '[{"resource":"@instance_admin","access":"write","targets":[]},{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"write","targets":[]}]'::jsonb
WHERE name = 'root'
  AND scopes = '[{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"write","targets":[]}]'::jsonb
  AND created_at = (SELECT o.created_at FROM organizations o WHERE o.id = api_keys.organization_id)
  AND id = (SELECT k.id FROM api_keys k WHERE k.organization_id = api_keys.organization_id ORDER BY k.id LIMIT 1);

UPDATE api_keys SET scopes = '[{"resource":"@root","access":"write","targets":[]},{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"read","targets":[]}]'::jsonb
WHERE name = 'root'
  AND scopes = '[{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"read","targets":[]}]'::jsonb
  AND created_at = (SELECT o.created_at FROM organizations o WHERE o.id = api_keys.organization_id)
  AND id = (SELECT k.id FROM api_keys k WHERE k.organization_id = api_keys.organization_id ORDER BY k.id LIMIT 1);
