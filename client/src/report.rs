//! Turns what went wrong into the lines the command prints on stderr.

use std::error::Error as StdError;

use keyward::{Error, types::Problem};

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The client could not be built from `--url` and `--key`.
    Setup(keyward::ClientBuildError),
    /// The request failed or the server answered with an error.
    Api(Box<Error<Problem>>),
}

impl From<keyward::ClientBuildError> for Failure {
    fn from(e: keyward::ClientBuildError) -> Self {
        Self::Setup(e)
    }
}

impl From<Error<Problem>> for Failure {
    fn from(e: Error<Problem>) -> Self {
        Self::Api(Box::new(e))
    }
}

impl Failure {
    /// The lines to print for this failure, the first starting with `error:`.
    pub async fn describe(self, url: &str) -> Vec<String> {
        match self {
            Self::Setup(e) => vec![format!("error: {}", chain(&e))],
            Self::Api(e) => describe_api_error(*e, url).await,
        }
    }
}

async fn describe_api_error(error: Error<Problem>, url: &str) -> Vec<String> {
    match error {
        Error::ErrorResponse(response) => {
            let status = response.status().as_u16();
            describe_problem(status, &response.into_inner())
        }
        Error::UnexpectedResponse(response) => {
            let status = response.status();
            let body = response.bytes().await.unwrap_or_default();
            match serde_json::from_slice::<Problem>(&body) {
                Ok(problem) => describe_problem(status.as_u16(), &problem),
                Err(_) => vec![format!("error: unexpected response {status}")],
            }
        }
        Error::CommunicationError(e) if e.is_timeout() => {
            vec![format!("error: no answer from {url} in time: {}", chain(&e))]
        }
        Error::CommunicationError(e) if e.is_connect() => {
            vec![format!("error: cannot connect to {url}: {}", chain(&e))]
        }
        Error::CommunicationError(e) | Error::InvalidUpgrade(e) => {
            vec![format!("error: the request to {url} failed: {}", chain(&e))]
        }
        Error::ResponseBodyError(e) => {
            vec![format!("error: cannot read the response: {}", chain(&e))]
        }
        Error::InvalidResponsePayload(body, _) if body.is_empty() => {
            vec!["error: the response has an empty body where the API promises JSON".to_owned()]
        }
        Error::InvalidResponsePayload(_, e) => {
            vec![format!("error: the response does not match the API description: {}", chain(&e))]
        }
        Error::InvalidRequest(message) => vec![format!("error: invalid request: {message}")],
        Error::Custom(message) => vec![format!("error: {message}")],
    }
}

/// The problem document's title, detail and code, then one line per field error.
pub fn describe_problem(status: u16, problem: &Problem) -> Vec<String> {
    let mut first = format!("error: {status} {}", problem.title);
    if let Some(detail) = &problem.detail {
        first.push_str(": ");
        first.push_str(detail);
    }
    first.push_str(&format!(" ({})", problem.code));
    let mut lines = vec![first];
    for error in &problem.errors {
        let fields =
            if error.fields.is_empty() { String::new() } else { format!("{}: ", error.fields.join(", ")) };
        lines.push(format!("  {fields}{} ({})", error.message, error.code));
    }
    lines
}

/// `error` and its sources, joined by `: `, each in lowercase and without a
/// final period.
fn chain(error: &(dyn StdError + 'static)) -> String {
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

    fn problem(detail: Option<&str>, errors: Vec<ProblemError>) -> Problem {
        Problem {
            code: "api_keys.invalid".into(),
            detail: detail.map(Into::into),
            errors,
            status: 422,
            title: "Unprocessable Entity".into(),
            type_: "about:blank".into(),
        }
    }

    #[test]
    fn a_problem_shows_its_title_detail_and_code() {
        let lines = describe_problem(422, &problem(Some("the body is not valid"), Vec::new()));
        assert_eq!(lines, ["error: 422 Unprocessable Entity: the body is not valid (api_keys.invalid)"]);
    }

    #[test]
    fn a_problem_lists_its_field_errors() {
        let errors = vec![ProblemError {
            code: "length".into(),
            fields: vec!["name".into()],
            message: "must not be empty".into(),
        }];
        let lines = describe_problem(422, &problem(None, errors));
        assert_eq!(
            lines,
            ["error: 422 Unprocessable Entity (api_keys.invalid)", "  name: must not be empty (length)",]
        );
    }

    #[test]
    fn messages_are_tidied_but_acronyms_kept() {
        assert_eq!(tidy("Connection refused."), "connection refused");
        assert_eq!(tidy("HTTP error"), "HTTP error");
        assert_eq!(tidy("tcp connect error"), "tcp connect error");
    }
}
