//! Extractors for JSON bodies, query strings and paths whose rejections are our problem documents.

use axum::body::HttpBody as _;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::wording::{field_message, json_syntax};
use crate::domain::validation::FieldError;

/// The most bytes a request body may hold.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body: 415 unless `application/json`, 413 over `BODY_LIMIT`, 400 for bad syntax, 422
/// naming the field for bad data. The only extractor that reads a body, so it applies the limit.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType {
                detail: "the request body must be application/json".into(),
            });
        }
        parse_json(&read_body(req.into_body()).await?).map(ApiJson)
    }
}

/// A JSON body an operation may go without: an empty body (with no `Content-Type`, or a JSON
/// one) is `T::default()`, as `{}` would be; anything else is read as [`ApiJson`] reads it.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        let declared_json = is_json_content_type(content_type.as_ref());
        if content_type.is_some() && !declared_json {
            return Err(ApiError::UnsupportedMediaType {
                detail: "the request body, if any, must be application/json".into(),
            });
        }
        let bytes = read_body(req.into_body()).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !declared_json {
            return Err(ApiError::UnsupportedMediaType {
                detail: "the request body must be application/json".into(),
            });
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Reads a whole body of at most `BODY_LIMIT` bytes; one that declares more in its
/// `Content-Length` is refused before any of it is read. A body that comes in one piece (most
/// do) is taken as it is, without copying; one whose length says it is complete is not polled
/// again.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    if body.size_hint().lower() > BODY_LIMIT as u64 {
        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
    }
    let mut body = Limited::new(body, BODY_LIMIT);
    let mut whole = Bytes::new();
    let mut pieces = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(unreadable)?.into_data() else {
            continue; // trailers: nothing of the JSON
        };
        if whole.is_empty() && pieces.is_empty() {
            whole = data;
        } else {
            pieces.extend_from_slice(&std::mem::take(&mut whole));
            pieces.extend_from_slice(&data);
        }
        if body.is_end_stream() {
            break;
        }
    }
    Ok(if pieces.is_empty() { whole } else { Bytes::from(pieces) })
}

/// The error for a body that could not be read: over the limit (413), or cut short (400).
fn unreadable(error: Box<dyn std::error::Error + Send + Sync>) -> ApiError {
    if error.is::<LengthLimitError>() {
        ApiError::PayloadTooLarge { limit: BODY_LIMIT }
    } else {
        ApiError::BadRequest {
            code: "request.unreadable_body",
            detail: format!("the request body could not be read: {error}"),
            errors: Vec::new(),
        }
    }
}

/// Parses a JSON body, telling syntax errors (400) from data errors (422, with the field's path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // A body that is an object and holds no `[` at all has no array where an object is wanted,
    // and a typed parse of it that succeeds gives what the route through `Value` below gives.
    // Anything else, and every error, takes that route, which tells what is wrong.
    if is_array_free_object(bytes)
        && let Ok(parsed) = serde_json::from_slice(bytes)
    {
        return Ok(parsed);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed_json(&e))?;
    if let Some(field) = positional_object(&value) {
        return Err(ApiError::invalid_body(vec![FieldError {
            code: "invalid_value",
            message: "must be a JSON object".into(),
            field,
        }]));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        ApiError::invalid_body(vec![FieldError {
            code: "invalid_value",
            field: field_of(&path, &message),
            message: field_message(&message),
        }])
    })
}

/// Where a request schema wants an object (the body itself, each of its `scopes`) but the JSON
/// holds an array, which serde would otherwise read as the struct's fields in order.
fn positional_object(value: &serde_json::Value) -> Option<String> {
    if !value.is_object() {
        return Some(String::new());
    }
    value
        .get("scopes")
        .and_then(|s| s.as_array())
        .and_then(|scopes| scopes.iter().position(|scope| scope.is_array()).map(|i| format!("scopes[{i}]")))
}

/// Whether `bytes` opens with `{` (after whitespace) and holds no `[` anywhere.
fn is_array_free_object(bytes: &[u8]) -> bool {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    start.is_some_and(|i| bytes[i] == b'{') && !bytes.contains(&b'[')
}

fn malformed_json(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        code: "request.malformed_json",
        detail: format!("the request body is not valid JSON: {}", json_syntax(error)),
        errors: Vec::new(),
    }
}

/// A query string, 400 naming every parameter that does not parse and every one the operation
/// does not have.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Most requests have no query: nothing can be unknown or bad, so only defaults are made.
        if parts.uri.query().is_none_or(str::is_empty)
            && let Ok(value) = serde_urlencoded::from_str::<T>("")
        {
            return Ok(ApiQuery(value));
        }
        let pairs = query_pairs(parts.uri.query());
        let names = field_names::<T>();
        let mut errors = unknown_parameters(&pairs, &[names]);
        let parsed = parse_query::<T>(&pairs, names, &mut errors);
        match parsed {
            Some(value) if errors.is_empty() => Ok(ApiQuery(value)),
            _ => Err(ApiError::invalid_query(errors)),
        }
    }
}

/// Two sets of query parameters an operation takes together (its paging and a filter).
#[derive(Debug)]
pub struct ApiQueries<A, B>(pub A, pub B);

impl<A: DeserializeOwned, B: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQueries<A, B> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = query_pairs(parts.uri.query());
        let (a_names, b_names) = (field_names::<A>(), field_names::<B>());
        let mut errors = unknown_parameters(&pairs, &[a_names, b_names]);
        let a = parse_query::<A>(&pairs, a_names, &mut errors);
        let b = parse_query::<B>(&pairs, b_names, &mut errors);
        match (a, b) {
            (Some(a), Some(b)) if errors.is_empty() => Ok(ApiQueries(a, b)),
            _ => Err(ApiError::invalid_query(errors)),
        }
    }
}

/// The decoded `name=value` pairs of a query string, in order.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// An error for each parameter none of `known` names.
fn unknown_parameters(pairs: &[(String, String)], known: &[&[&str]]) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let names: Vec<&str> = known.iter().flat_map(|names| names.iter().copied()).collect();
    let message = if names.is_empty() {
        "is not a parameter of this operation, which takes none".to_owned()
    } else {
        let expected = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
        format!("is not a parameter of this operation; it takes {expected}")
    };
    for (name, _) in pairs {
        if !names.contains(&name.as_str()) && !errors.iter().any(|e| &e.field == name) {
            errors.push(FieldError {
                code: "unknown_parameter",
                message: message.clone(),
                field: name.clone(),
            });
        }
    }
    errors
}

/// Parses the pairs a struct of parameters names (`names`, its fields) into it, adding an error
/// for each parameter that does not parse: one that fails is set aside and the rest parsed
/// again, so every bad parameter is reported, not only the first.
fn parse_query<T: DeserializeOwned>(
    pairs: &[(String, String)],
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let mut pairs: Vec<&(String, String)> =
        pairs.iter().filter(|(k, _)| names.contains(&k.as_str())).collect();
    for _ in 0..=pairs.len() {
        let encoded =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().copied()).finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(value) => return Some(value),
            Err(error) => {
                let path = error.path().to_string();
                let message = error.into_inner().to_string();
                let field = field_of(&path, &message);
                let before = pairs.len();
                pairs.retain(|(k, _)| *k != field);
                errors.push(FieldError {
                    code: "invalid_parameter",
                    message: field_message(&message),
                    field,
                });
                if pairs.len() == before {
                    return None; // nothing left to set aside: the error is not one parameter's
                }
            }
        }
    }
    None
}

/// The names a struct's fields take in serde (renames applied), read from its `Deserialize`.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    /// A deserializer that only notes the fields a struct asks for.
    struct Names(&'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for &mut Names {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(serde::de::Error::custom("names noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

/// Path parameters, 400 naming the parameter when one does not parse (a malformed uuid, say).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| ApiPath(p.0)).map_err(
            |rejection| {
                use axum::extract::path::ErrorKind;
                let (field, message) = match &rejection {
                    PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                        ErrorKind::ParseErrorAtKey { key, expected_type, .. } => (
                            key.clone(),
                            field_message(&format!("invalid type: string, expected {expected_type}")),
                        ),
                        ErrorKind::DeserializeError { key, message, .. } => {
                            (key.clone(), field_message(message))
                        }
                        ErrorKind::InvalidUtf8InPathParam { key } => {
                            (key.clone(), "must be UTF-8".to_owned())
                        }
                        _ => ("path".to_owned(), "the path does not match the operation's".to_owned()),
                    },
                    _ => ("path".to_owned(), "the path does not match the operation's".to_owned()),
                };
                ApiError::invalid_query(vec![FieldError { code: "invalid_parameter", field, message }])
            },
        )
    }
}

/// Whether a `Content-Type` names JSON (`application/json` or `application/*+json`, any parameters).
fn is_json_content_type(value: Option<&axum::http::HeaderValue>) -> bool {
    if value.is_some_and(|v| v.as_bytes() == b"application/json") {
        return true; // what nearly every client sends
    }
    let Some(essence) = value.and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()) else {
        return false;
    };
    let essence = essence.trim().as_bytes();
    let (kind, suffix) = ("application/".as_bytes(), "+json".as_bytes());
    essence.eq_ignore_ascii_case(b"application/json")
        || (essence.len() > kind.len() + suffix.len()
            && essence[..kind.len()].eq_ignore_ascii_case(kind)
            && essence[essence.len() - suffix.len()..].eq_ignore_ascii_case(suffix))
}

/// The field a deserialization error is about: its path, or the field a "missing field" names.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|lead| message.strip_prefix(lead))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) | ("", Some(name)) => name.to_owned(),
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u8,
    }

    fn fields(error: ApiError) -> (u16, Vec<String>) {
        let status = error.status().as_u16();
        let problem = error.to_problem();
        (status, problem.errors.into_iter().flat_map(|e| e.fields).collect())
    }

    #[test]
    fn bad_json_syntax_is_a_400() {
        assert_eq!(fields(parse_json::<Body>(b"{\"name\": ").unwrap_err()).0, 400);
        assert_eq!(fields(parse_json::<Body>(b"{\"name\": \"a\"} trailing").unwrap_err()).0, 400);
    }

    #[test]
    fn a_wrong_type_is_a_422_naming_the_nested_field() {
        let error = parse_json::<Body>(br#"{"name": "a", "inner": {"count": 300}}"#).unwrap_err();
        assert_eq!(fields(error), (422, vec!["inner.count".to_owned()]));
    }

    #[test]
    fn a_missing_or_unknown_field_is_a_422_naming_it() {
        assert_eq!(fields(parse_json::<Body>(b"{}").unwrap_err()), (422, vec!["name".to_owned()]));
        let error = parse_json::<Body>(br#"{"name": "a", "nme": 1}"#).unwrap_err();
        assert_eq!(fields(error), (422, vec!["nme".to_owned()]));
    }

    #[test]
    fn only_array_free_objects_take_the_typed_path_and_errors_are_unchanged() {
        assert!(is_array_free_object(br#" {"name": "a"}"#));
        assert!(!is_array_free_object(br#"{"name": "[a]"}"#));
        assert!(!is_array_free_object(br#"["a", null]"#));
        assert_eq!(fields(parse_json::<Body>(br#"["a", null]"#).unwrap_err()), (422, vec![String::new()]));
        assert_eq!(fields(parse_json::<Body>(br#"{"name": "a", "nme": 1, "#).unwrap_err()).0, 400);
        assert_eq!(parse_json::<Body>(br#"{"name": "a", "inner": {"count": 3}}"#).unwrap().name, "a");
    }

    #[tokio::test]
    async fn a_body_in_one_piece_is_taken_as_it_is_and_one_in_several_is_joined() {
        let bytes = read_body(axum::body::Body::from(r#"{"a": 1}"#)).await.unwrap();
        assert_eq!(&bytes[..], br#"{"a": 1}"#);
        let pieces =
            ["{\"a\":", " 1", "}"].map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p.as_bytes())));
        let bytes = read_body(axum::body::Body::from_stream(futures::stream::iter(pieces))).await.unwrap();
        assert_eq!(&bytes[..], br#"{"a": 1}"#);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_in_pieces_is_a_413() {
        let piece = Bytes::from(vec![b' '; BODY_LIMIT / 2 + 1]);
        let pieces = [Ok::<_, std::io::Error>(piece.clone()), Ok(piece)];
        let error =
            read_body(axum::body::Body::from_stream(futures::stream::iter(pieces))).await.unwrap_err();
        assert_eq!(error.status().as_u16(), 413);
    }

    #[test]
    fn json_content_types_include_parameters_and_suffixes() {
        let json = |s: &'static str| is_json_content_type(Some(&axum::http::HeaderValue::from_static(s)));
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=utf-8"));
        assert!(json("application/merge-patch+json"));
        assert!(!json("text/plain"));
        assert!(!is_json_content_type(None));
    }
}
