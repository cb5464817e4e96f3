// Drives a live Keyward server through a TypeScript client made from openapi.yaml alone: the
// types by openapi-typescript, the calls by openapi-fetch. Compiled with `tsc --strict` and run
// by `cargo xtask clients` with KEYWARD_URL and KEYWARD_KEY set: create, list, view, update
// (clearing the rate limit with null), verify, rotate and delete a key.
import createClient from "openapi-fetch";
import type { paths } from "./keyward.js";

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) {
    console.error(`typescript client: ${what}`);
    process.exit(1);
  }
}

const client = createClient<paths>({
  baseUrl: process.env.KEYWARD_URL,
  headers: { "X-API-KEY": process.env.KEYWARD_KEY ?? "" },
});

const customer = `cus_ts_${Date.now()}`;
const created = await client.POST("/v1/api_keys", {
  body: {
    name: "typescript client",
    customer_id: customer,
    scopes: [{ resource: "invoices", access: "read" }],
    rate_limit: { limit: 100, window_ms: 60_000 },
  },
});
expect(created.data !== undefined, `create: ${JSON.stringify(created.error)}`);
const id = created.data.api_key.id;
const secret = created.data.key;

const listed = await client.GET("/v1/api_keys", { params: { query: { customer_id: customer } } });
expect(listed.data !== undefined, `list: ${JSON.stringify(listed.error)}`);
expect(listed.data.api_keys.length === 1 && listed.data.api_keys[0].id === id, "list: the one key");

const viewed = await client.GET("/v1/api_keys/{api_key_id}", { params: { path: { api_key_id: id } } });
expect(viewed.data !== undefined, `view: ${JSON.stringify(viewed.error)}`);
expect(viewed.data.rate_limit?.limit === 100, "view: the rate limit");

const updated = await client.PATCH("/v1/api_keys/{api_key_id}", {
  params: { path: { api_key_id: id } },
  body: { name: "renamed", rate_limit: null },
});
expect(updated.data !== undefined, `update: ${JSON.stringify(updated.error)}`);
expect(updated.data.name === "renamed" && updated.data.rate_limit === null, "update: renamed, rate limit cleared");

const verdict = await client.POST("/v1/keys/verify", {
  body: { key: secret, scopes: [{ resource: "invoices", access: "read" }] },
});
expect(verdict.data?.code === "VALID", `verify: ${JSON.stringify(verdict.data ?? verdict.error)}`);

const rotated = await client.POST("/v1/api_keys/{api_key_id}/rotate", {
  params: { path: { api_key_id: id } },
  body: { grace_period_ms: 0 },
});
expect(rotated.data !== undefined && rotated.data.key !== secret, `rotate: ${JSON.stringify(rotated.error)}`);
const old = await client.POST("/v1/keys/verify", { body: { key: secret } });
expect(old.data?.valid === false, "the rotated-away secret no longer verifies");

const deleted = await client.DELETE("/v1/api_keys/{api_key_id}", { params: { path: { api_key_id: id } } });
expect(deleted.data?.deleted === true, `delete: ${JSON.stringify(deleted.error)}`);
const gone = await client.GET("/v1/api_keys/{api_key_id}", { params: { path: { api_key_id: id } } });
expect(gone.response.status === 404 && gone.error?.code === "api_keys.key_not_found", "view after delete: 404");
const revoked = await client.POST("/v1/keys/verify", { body: { key: rotated.data.key } });
expect(revoked.data?.code === "REVOKED", "verify after delete: REVOKED");

console.log("typescript client: create, list, view, update, verify, rotate and delete all answered as documented");
