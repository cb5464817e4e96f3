//! The contract test: `openapi.yaml` and the document generated from the handlers agree.

use keyward_contract::{canonicalize, committed_spec, diff};

#[test]
fn openapi_yaml_matches_the_document_generated_from_the_handlers() {
    let generated = serde_json::to_value(keyward_server::api::openapi())
        .expect("the document generated from the handlers serializes");
    let diff = diff(&canonicalize(&committed_spec()), &canonicalize(&generated));
    // A plain assertion, not a snapshot: drift is fixed in the code or in openapi.yaml, never
    // accepted into a snapshot file.
    assert!(
        diff.is_empty(),
        "openapi.yaml and the handlers disagree (`-` is openapi.yaml, `+` the handlers, both in \
         canonical form); `cargo xtask openapi check` shows the same diff. Change the handlers, or \
         change openapi.yaml by hand if the contract should change.\n\n{diff}"
    );
}
