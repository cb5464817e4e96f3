-- Root keys store their role (a marker scope no request can name, then the scopes the role stood
-- for when they were made) instead of only those scopes, so that they hold the scopes a later
-- release gives their role. This rewrites the root keys older releases made with an
-- organization: its first key, made with it (at its `created_at`), named `root`, whose scopes are
-- still exactly those of a root key, or of the instance admin's in the first organization (the
-- oldest, as `App::root_key_create` finds it). A key whose scopes were changed since keeps them,
-- as does any other key.
--
-- Not rewritten: root keys an operator minted later with `keyward-server root-key` in an older
-- release. Nothing tells them from a key a caller made with the same name and scopes, so they
-- keep their list and do not gain a later release's scopes; mint a new root key with this
-- release and revoke the old one.
--
-- It leaves no change record: what the API shows of a root key (its role's scopes) is what it
-- showed before, and an older release reads the same scopes after the marker, which grants it
-- nothing.

UPDATE api_keys SET scopes = '[{"resource":"@instance_admin","access":"write","targets":[]},{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"write","targets":[]}]'
WHERE name = 'root'
  AND json(scopes) = json('[{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"write","targets":[]}]')
  AND organization_id = (SELECT o.id FROM organizations o ORDER BY o.created_at, o.id LIMIT 1)
  AND created_at = (SELECT o.created_at FROM organizations o WHERE o.id = api_keys.organization_id)
  AND id = (SELECT k.id FROM api_keys k WHERE k.organization_id = api_keys.organization_id ORDER BY k.id LIMIT 1);

UPDATE api_keys SET scopes = '[{"resource":"@root","access":"write","targets":[]},{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"read","targets":[]}]'
WHERE name = 'root'
  AND json(scopes) = json('[{"resource":"api_keys","access":"write","targets":[]},{"resource":"verifications","access":"write","targets":[]},{"resource":"organizations","access":"read","targets":[]}]')
  AND created_at = (SELECT o.created_at FROM organizations o WHERE o.id = api_keys.organization_id)
  AND id = (SELECT k.id FROM api_keys k WHERE k.organization_id = api_keys.organization_id ORDER BY k.id LIMIT 1);
