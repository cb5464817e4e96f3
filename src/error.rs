//! [`ApiError`]: what went wrong with a call, the server's problem document included.

use std::{error::Error as StdError, fmt};

use reqwest::StatusCode;

use crate::{Error, types::Problem};

/// Why a call failed, in the terms a caller acts on.
///
/// Every `send()` of the SDK fails with [`crate::Error<Problem>`]; `?` in a
/// function returning `Result<_, ApiError>` turns it into this, and
/// [`ApiError::read`] does so reading the body of an answer the API does not
/// describe too.
///
/// ```no_run
/// # async fn run(client: keyward::Client, id: uuid::Uuid) -> Result<(), keyward::ApiError> {
/// match client.api_key_view().api_key_id(id).send().await.map_err(keyward::ApiError::from) {
///     Ok(key) => println!("{}", key.name),
///     Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => println!("no such key"),
///     Err(e) => return Err(e),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The server refused the request with a problem document (RFC 9457):
    /// its `code` is stable, `errors` names the fields at fault.
    Problem {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The problem document.
        problem: Box<Problem>,
    },
    /// No answer: the server could not be reached, the request timed out or
    /// the connection dropped (after the client's retries).
    Transport(reqwest::Error),
    /// An answer the API description does not promise: an undocumented
    /// status, or a body that is not what it should be.
    Unexpected {
        /// The HTTP status of the answer, when one came.
        status: Option<StatusCode>,
        /// What was wrong with it.
        detail: String,
    },
    /// The request was not sent: an argument cannot be put into a request.
    InvalidRequest(String),
}

impl ApiError {
    /// Like `ApiError::from(error)`, reading the body of an undocumented
    /// answer too: if it is a problem document, it becomes
    /// [`ApiError::Problem`].
    pub async fn read(error: Error<Problem>) -> Self {
        match error {
            Error::UnexpectedResponse(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) => match serde_json::from_slice::<Problem>(&body) {
                        Ok(problem) => Self::Problem { status, problem: Box::new(problem) },
                        Err(_) => {
                            Self::Unexpected { status: Some(status), detail: "an undocumented answer".into() }
                        }
                    },
                    Err(e) => Self::Transport(e),
                }
            }
            other => Self::from(other),
        }
    }

    /// The HTTP status of the answer, if one came.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Problem { status, .. } => Some(*status),
            Self::Unexpected { status, .. } => *status,
            Self::Transport(e) => e.status(),
            Self::InvalidRequest(_) => None,
        }
    }

    /// The server's problem document, if it sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The problem's stable code, such as `api_keys.not_found`.
    pub fn code(&self) -> Option<&str> {
        self.problem().map(|problem| problem.code.as_str())
    }

    /// Every field a problem names as at fault, in order, each once.
    pub fn fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = Vec::new();
        for error in self.problem().map(|p| p.errors.as_slice()).unwrap_or_default() {
            for field in &error.fields {
                if !fields.contains(&field.as_str()) {
                    fields.push(field);
                }
            }
        }
        fields
    }

    /// Whether it may work if sent again later: the server was unreachable
    /// or overloaded.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_connect() || e.is_timeout(),
            _ => {
                matches!(self.status(), Some(StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS))
            }
        }
    }
}

impl From<Error<Problem>> for ApiError {
    fn from(error: Error<Problem>) -> Self {
        match error {
            Error::ErrorResponse(response) => {
                let status = response.status();
                Self::Problem { status, problem: Box::new(response.into_inner()) }
            }
            Error::UnexpectedResponse(response) => {
                Self::Unexpected { status: Some(response.status()), detail: "an undocumented answer".into() }
            }
            Error::CommunicationError(e) | Error::InvalidUpgrade(e) | Error::ResponseBodyError(e) => {
                Self::Transport(e)
            }
            Error::InvalidResponsePayload(body, _) if body.is_empty() => {
                Self::Unexpected { status: None, detail: "an empty body where JSON was promised".into() }
            }
            Error::InvalidResponsePayload(_, e) => {
                Self::Unexpected { status: None, detail: format!("a body that does not match the API: {e}") }
            }
            Error::InvalidRequest(message) => Self::InvalidRequest(message),
            Error::Custom(message) => Self::InvalidRequest(message),
        }
    }
}

/// One line: `404 Not Found: no API key with this id (api_keys.not_found)`,
/// then `; name: must not be empty` for each field error.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Problem { status, problem } => {
                write!(f, "{} {}", status.as_u16(), problem.title)?;
                if let Some(detail) = &problem.detail {
                    write!(f, ": {detail}")?;
                }
                write!(f, " ({})", problem.code)?;
                for error in &problem.errors {
                    f.write_str("; ")?;
                    if !error.fields.is_empty() {
                        write!(f, "{}: ", error.fields.join(", "))?;
                    }
                    f.write_str(&error.message)?;
                }
                Ok(())
            }
            Self::Transport(e) if e.is_timeout() => f.write_str("no answer in time"),
            Self::Transport(e) if e.is_connect() => f.write_str("cannot connect"),
            Self::Transport(_) => f.write_str("the request failed"),
            Self::Unexpected { status: Some(status), detail } => {
                write!(f, "unexpected answer {status}: {detail}")
            }
            Self::Unexpected { status: None, detail } => write!(f, "unexpected answer: {detail}"),
            Self::InvalidRequest(message) => write!(f, "invalid request: {message}"),
        }
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Transport(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::types::ProblemError;

    use super::*;

    fn refused(errors: Vec<ProblemError>) -> ApiError {
        ApiError::Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problem: Box::new(Problem {
                code: "request.invalid".into(),
                detail: Some("the body is not valid".into()),
                errors,
                status: 422,
                title: "Unprocessable Entity".into(),
                type_: "about:blank".into(),
            }),
        }
    }

    fn field_error(fields: &[&str], message: &str) -> ProblemError {
        ProblemError {
            code: "invalid".into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            message: message.into(),
        }
    }

    #[test]
    fn a_problem_reads_as_one_line_with_its_code_and_fields() {
        let error = refused(vec![field_error(&["name"], "must not be empty"), field_error(&[], "too many")]);
        assert_eq!(
            error.to_string(),
            "422 Unprocessable Entity: the body is not valid (request.invalid); name: must not be empty; too many"
        );
        assert_eq!(error.code(), Some("request.invalid"));
        assert_eq!(error.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!error.is_transient());
    }

    #[test]
    fn fields_are_listed_once_in_order() {
        let error = refused(vec![
            field_error(&["rate_limit", "credits"], "a"),
            field_error(&["credits", "name"], "b"),
        ]);
        assert_eq!(error.fields(), ["rate_limit", "credits", "name"]);
    }
}
