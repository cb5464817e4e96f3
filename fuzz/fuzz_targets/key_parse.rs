//! Fuzz target: the key parser never panics, and a key it accepts is exactly the text given,
//! keeps its length when masked and shows no more than its prefix and four characters.
#![no_main]

use keyward_server::domain::key::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(secret) = Secret::parse(text) else { return };
    assert_eq!(secret.expose(), text);
    assert!(text.starts_with(secret.prefix()));
    let masked = secret.masked();
    assert_eq!(masked.len(), text.len());
    let shown = secret.prefix().len() + 1 + 4;
    assert_eq!(&masked[..shown], &text[..shown]);
    assert!(masked[shown..].bytes().all(|b| b == b'*'));
});
