//! Turns what went wrong into one line on stderr and the exit code that names its kind.

use std::{error::Error as StdError, process::ExitCode};

use keyward::{ApiError, types::Problem};
use reqwest::StatusCode;

/// The exit codes, one per kind of failure; `keyward --help` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The server refused the request (a conflict, a stale `If-Match`,
    /// invalid values, a consistency token it did not issue), or another error.
    Refused = 1,
    /// The command line is wrong (a key or consistency token no HTTP header
    /// can carry, say), or there is no key to send.
    Usage = 2,
    /// No such key or organization (404).
    NotFound = 3,
    /// The key is missing, wrong or lacks a scope (401, 403), or this address
    /// failed too often (429).
    Auth = 4,
    /// The server failed, is overloaded or cannot be reached, or answered what
    /// the API does not describe.
    Server = 5,
    /// `keys verify`: the verdict is not `VALID`.
    NotValid = 6,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The client could not be set up (key, CA certificate).
    Setup(String),
    /// The call failed; `url` is the server's.
    Api { error: ApiError, url: String },
    /// Something outside the API: a file, the config, stdin.
    Local(String),
    /// A usage error found after parsing, such as no key anywhere.
    Usage(String),
    /// `keys verify` answered, and the verdict (this code) is not `VALID`.
    NotValid(String),
}

impl From<crate::profile::ProfileError> for Failure {
    fn from(error: crate::profile::ProfileError) -> Self {
        Self::Local(error.to_string())
    }
}

impl Failure {
    /// The failure of a call to the server at `url`, the body of an
    /// undocumented answer read.
    pub async fn api(error: keyward::Error<Problem>, url: &str) -> Self {
        Self::Api { error: ApiError::read(error).await, url: url.to_owned() }
    }

    /// The exit code for this failure.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Setup(_) | Self::Usage(_) => Exit::Usage,
            Self::Local(_) => Exit::Refused,
            Self::NotValid(_) => Exit::NotValid,
            Self::Api { error, .. } => match error {
                ApiError::Problem { status, .. } => match *status {
                    StatusCode::NOT_FOUND => Exit::NotFound,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                        Exit::Auth
                    }
                    status if status.is_server_error() => Exit::Server,
                    _ => Exit::Refused,
                },
                ApiError::InvalidRequest(_) => Exit::Usage,
                _ => Exit::Server,
            },
        }
    }

    /// The line to print: `error: ` and what happened, in lowercase without a
    /// final period, never repeating a key.
    pub fn line(&self) -> String {
        match self {
            Self::Setup(message) | Self::Local(message) | Self::Usage(message) => format!("error: {message}"),
            Self::NotValid(code) => format!("the key is not valid: {code}"),
            Self::Api { error, url } => match error {
                ApiError::Transport(e) if e.is_timeout() => {
                    format!("error: no answer from {url} in time: {}", chain(e))
                }
                ApiError::Transport(e) if e.is_connect() => {
                    format!("error: cannot connect to {url}: {}", chain(e))
                }
                ApiError::Transport(e) => format!("error: the request to {url} failed: {}", chain(e)),
                other => format!("error: {other}"),
            },
        }
    }
}

/// `error` and its sources, joined by `: `, each in lowercase and without a
/// final period.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let part = tidy(&e.to_string());
        if !part.is_empty() && parts.last() != Some(&part) {
            parts.push(part);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Lowercases the first letter of a sentence (not of an acronym such as
/// `HTTP`) and drops a final period.
fn tidy(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(message[first.len_utf8()..].chars()).collect()
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use keyward::types::ProblemError;

    use super::*;

    fn refused(status: StatusCode, errors: Vec<ProblemError>) -> Failure {
        let problem = Problem {
            code: "api_keys.invalid".into(),
            detail: Some("the body is not valid".into()),
            errors,
            status: i32::from(status.as_u16()),
            title: status.canonical_reason().unwrap_or_default().into(),
            type_: "about:blank".into(),
        };
        Failure::Api {
            error: ApiError::Problem { status, problem: Box::new(problem) },
            url: "http://127.0.0.1:8080".into(),
        }
    }

    /// A 422 whose one error says `message` of `field`.
    fn invalid(field: &str, code: &str, message: &str) -> Failure {
        let error = ProblemError { code: code.into(), fields: vec![field.into()], message: message.into() };
        refused(StatusCode::UNPROCESSABLE_ENTITY, vec![error])
    }

    #[test]
    fn a_problem_is_one_line_with_its_code_and_fields() {
        let failure = invalid("name", "length", "must not be empty");
        assert_eq!(
            failure.line(),
            "error: 422 Unprocessable Entity: the body is not valid (api_keys.invalid); name: must not be empty"
        );
        assert_eq!(failure.exit(), Exit::Refused);
    }

    #[test]
    fn a_problem_s_control_and_bidi_characters_reach_stderr_escaped() {
        let mut failure =
            invalid("metadata.note\u{1b}[31m", "invalid_character", "must not hold \u{0}\r\n\u{202e}this");
        if let Failure::Api { error: ApiError::Problem { problem, .. }, .. } = &mut failure {
            problem.detail = Some("the body \u{1b}]0;owned\u{7} is not valid".into());
        }
        let shown = crate::terminal::escape(&failure.line()).into_owned();
        assert_eq!(
            shown,
            "error: 422 Unprocessable Entity: the body \\u{1b}]0;owned\\u{7} is not valid (api_keys.invalid); \
             metadata.note\\u{1b}[31m: must not hold \\u{0}\\u{d}\\u{a}\\u{202e}this"
        );
        assert!(!shown.chars().any(crate::terminal::is_escaped), "{shown:?}");
    }

    #[test]
    fn each_kind_of_failure_has_its_exit_code() {
        assert_eq!(refused(StatusCode::NOT_FOUND, vec![]).exit(), Exit::NotFound);
        assert_eq!(refused(StatusCode::UNAUTHORIZED, vec![]).exit(), Exit::Auth);
        assert_eq!(refused(StatusCode::FORBIDDEN, vec![]).exit(), Exit::Auth);
        assert_eq!(refused(StatusCode::SERVICE_UNAVAILABLE, vec![]).exit(), Exit::Server);
        assert_eq!(refused(StatusCode::CONFLICT, vec![]).exit(), Exit::Refused);
        assert_eq!(refused(StatusCode::BAD_REQUEST, vec![]).exit(), Exit::Refused);
        assert_eq!(Failure::Usage("no key".into()).exit(), Exit::Usage);
    }

    #[test]
    fn messages_are_tidied_but_acronyms_kept() {
        assert_eq!(tidy("Connection refused."), "connection refused");
        assert_eq!(tidy("HTTP error"), "HTTP error");
        assert_eq!(tidy("tcp connect error"), "tcp connect error");
    }
}
