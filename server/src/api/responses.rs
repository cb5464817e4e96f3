//! The responses operations document alike, written once: each handler's `#[utoipa::path]` lists
//! only its own, and these are added to every operation they belong to, read from the document.
//!
//! An operation that needs a credential is answered by the layers and extractors every such
//! operation passes before its handler decides anything: a malformed query, path or consistency
//! token (400), no valid key (401), a key without the scope (403), an `Accept` that allows no JSON
//! (406), too many failed authentications (429), headers over 16 KiB (431), an instance that
//! cannot take the request now (503). An operation that takes a JSON body can also refuse the body:
//! too large (413), not JSON (415), not a valid request (422).

use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, Ref, RefOr, Response};
use utoipa::{Modify, ToResponse};

use super::model::*;

/// A status, and the component response (`components.responses`) it refers to.
type Shared = (&'static str, fn() -> (&'static str, RefOr<Response>));

/// What every secured operation answers alike.
const SECURED: &[Shared] = &[
    ("400", BadRequest::response),
    ("401", Unauthorized::response),
    ("403", Forbidden::response),
    ("406", NotAcceptable::response),
    ("429", TooManyRequests::response),
    ("431", HeadersTooLarge::response),
    ("503", ServiceUnavailable::response),
];

/// What every operation that takes a body answers alike.
const WITH_A_BODY: &[Shared] = &[
    ("413", PayloadTooLarge::response),
    ("415", UnsupportedMediaType::response),
    ("422", UnprocessableEntity::response),
];

/// The [`Modify`] that adds [`SECURED`] to each operation that needs a credential (its `security`
/// is the document's, not `[{}]`) and [`WITH_A_BODY`] to each that takes a body. A handler that
/// documents one of them itself fails it: each is written here alone.
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations =
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_none_or(|requirements| {
                    requirements.iter().any(|r| *r != SecurityRequirement::default())
                });
                let with_a_body = operation.request_body.is_some();
                let shared =
                    SECURED.iter().filter(|_| secured).chain(WITH_A_BODY.iter().filter(|_| with_a_body));
                for (status, response) in shared {
                    let reference = RefOr::Ref(Ref::from_response_name(response().0));
                    let listed = operation.responses.responses.insert((*status).to_owned(), reference);
                    assert!(
                        listed.is_none(),
                        "{path}: its handler documents {status}, which api/responses.rs adds to every such operation"
                    );
                }
            }
        }
    }
}
