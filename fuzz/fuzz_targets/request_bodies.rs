//! Fuzz target: every JSON request body the API takes, parsed as the extractor parses it and
//! checked by the domain, never panics, and anything refused is a 4xx naming what is wrong.
#![no_main]

use keyward_server::api::extract::parse_json;
use keyward_server::api::model::{
    ApiKeyCreate, ApiKeyRotate, ApiKeyUpdate, OrganizationCreate, VerifyRequest,
};
use keyward_server::domain::api_key::{ApiKeyPatch, NewApiKey};
use keyward_server::domain::key::KeyHasher;
use libfuzzer_sys::fuzz_target;

fn refused_as_input<T>(result: Result<T, keyward_server::api::error::ApiError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            assert!(error.status().is_client_error(), "a bad body is a 4xx, not {}", error.status());
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 5 {
        0 => {
            if let Some(create) = refused_as_input(parse_json::<ApiKeyCreate>(body)) {
                let issued = NewApiKey::from(create).issue(uuid::Uuid::nil(), &KeyHasher::default(), 1_000);
                if let Err(errors) = issued {
                    assert!(!errors.is_empty() && errors.iter().all(|e| !e.field.is_empty()));
                }
            }
        }
        1 => {
            if let Some(update) = refused_as_input(parse_json::<ApiKeyUpdate>(body)) {
                if let Err(errors) = ApiKeyPatch::from(update).check() {
                    assert!(!errors.is_empty() && errors.iter().all(|e| !e.field.is_empty()));
                }
            }
        }
        2 => {
            refused_as_input(parse_json::<ApiKeyRotate>(body));
        }
        3 => {
            refused_as_input(parse_json::<VerifyRequest>(body));
        }
        _ => {
            refused_as_input(parse_json::<OrganizationCreate>(body));
        }
    }
});
