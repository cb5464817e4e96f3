//! Reads an OpenAPI 3.0 document into the model the pages are rendered from, resolving `$ref`s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::DocsError;
use crate::example::{Mode, synthesize};

/// The HTTP methods an OpenAPI path item may hold, in the order pages list them.
const METHODS: [&str; 8] = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

/// Deeper than any honest chain of `$ref`s; stops a cycle.
const MAX_REF_DEPTH: usize = 32;

/// The URL examples use when the document names no server.
const DEFAULT_SERVER: &str = "http://localhost:8080";

/// The extension of a named example that lists the only operations it applies to, for an example
/// of a response that several operations share: `x-operations: [api_key_create]`.
pub const EXAMPLE_OPERATIONS: &str = "x-operations";

/// The whole document, ready to render.
#[derive(Debug, Clone)]
pub struct Api {
    pub title: String,
    pub version: String,
    pub description: String,
    /// The first server's URL, which every example calls.
    pub server_url: String,
    /// The declared tags, then any that only operations name, in order of appearance.
    pub tags: Vec<Tag>,
    /// Every operation, in document order.
    pub operations: Vec<Operation>,
    /// Every schema of `components.schemas`, in document order.
    pub schemas: Vec<NamedSchema>,
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    /// Every problem code the document's examples show, with the operations that answer it.
    pub problems: Vec<ProblemCode>,
    doc: Value,
}

/// A problem code, as an example of the document shows it.
#[derive(Debug, Clone)]
pub struct ProblemCode {
    pub code: String,
    /// The status of the responses that show it, such as `404`.
    pub status: String,
    pub summary: String,
    /// The first example that shows it.
    pub value: Value,
    /// The ids of the operations whose pages show it, in document order; empty for a problem that
    /// no operation answers (such as one for a path no operation has).
    pub operations: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct NamedSchema {
    pub name: String,
    /// The schema as written, its `$ref`s unresolved.
    pub schema: Value,
    /// What its page shows: the schema's `example`, or one synthesized from it.
    pub example: Example,
}

/// How a security scheme carries the credential, which decides the examples' header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityKind {
    /// `type: apiKey, in: header`: the credential is the header's value.
    HeaderKey(String),
    /// `type: http, scheme: bearer`: `Authorization: Bearer <credential>`.
    Bearer,
    /// `type: http, scheme: basic`.
    Basic,
    /// Anything else (query or cookie keys, OAuth 2, OpenID Connect), described but not exemplified.
    Other(String),
}

#[derive(Debug, Clone)]
pub struct SecurityScheme {
    pub name: String,
    pub kind: SecurityKind,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Operation {
    /// The `operationId`, or one made from the method and path when the document has none.
    pub id: String,
    /// Upper case, such as `GET`.
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub tags: Vec<String>,
    pub deprecated: bool,
    /// The alternatives (any one suffices), each naming the schemes it needs together;
    /// empty when the operation needs no credential.
    pub security: Vec<Vec<String>>,
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    /// Sorted by status, `default` last.
    pub responses: Vec<Response>,
}

impl Operation {
    /// The status a successful call answers with: the lowest documented 2xx (or 3xx) status.
    pub fn success_status(&self) -> Option<u16> {
        self.responses.iter().filter_map(|r| r.status.parse::<u16>().ok()).find(|s| (200..400).contains(s))
    }

    /// The operation's parameters that sit in the path.
    pub fn path_parameters(&self) -> impl Iterator<Item = &Parameter> {
        self.parameters.iter().filter(|p| p.location == "path")
    }
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    pub required: bool,
    pub description: String,
    pub deprecated: bool,
    pub schema: Value,
    /// The value examples use: the document's `example`, or one synthesized from the schema.
    pub example: Value,
    /// Whether the document gave the example, rather than the generator making one up.
    pub example_given: bool,
}

#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    pub description: String,
    pub content: Vec<Media>,
}

#[derive(Debug, Clone)]
pub struct Response {
    /// `200`, `404`, `4XX` or `default`.
    pub status: String,
    pub description: String,
    pub headers: Vec<Header>,
    pub content: Vec<Media>,
}

#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub schema: Value,
}

#[derive(Debug, Clone)]
pub struct Media {
    pub media_type: String,
    /// The schema as written, its `$ref`s unresolved.
    pub schema: Option<Value>,
    /// The document's examples, or one synthesized from the schema when it has none.
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone)]
pub struct Example {
    /// The key of a named example in `examples`.
    pub name: Option<String>,
    pub summary: String,
    pub value: Value,
    pub synthesized: bool,
}

impl Api {
    /// Parses the text of an OpenAPI 3.0 document.
    pub fn parse(yaml: &str) -> Result<Self, DocsError> {
        let doc: Value = yaml_serde::from_str(yaml).map_err(|err| DocsError::Yaml(err.to_string()))?;
        Self::from_value(doc)
    }

    /// Reads an OpenAPI 3.0 document already parsed as JSON values.
    pub fn from_value(doc: Value) -> Result<Self, DocsError> {
        if !doc.is_object() {
            return Err(DocsError::Spec("the document is not a mapping".into()));
        }
        let info = doc.get("info").cloned().unwrap_or(Value::Null);
        let mut api = Api {
            title: text(&info, "title").if_empty("API"),
            version: text(&info, "version"),
            description: text(&info, "description"),
            server_url: doc
                .pointer("/servers/0/url")
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_SERVER)
                .trim_end_matches('/')
                .to_owned(),
            tags: Vec::new(),
            operations: Vec::new(),
            schemas: Vec::new(),
            security_schemes: BTreeMap::new(),
            problems: Vec::new(),
            doc,
        };
        api.security_schemes = api.read_security_schemes()?;
        api.schemas = api
            .doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| {
                schemas
                    .iter()
                    .map(|(name, schema)| NamedSchema {
                        name: name.clone(),
                        schema: schema.clone(),
                        example: match schema.get("example") {
                            Some(value) => Example::given(None, String::new(), value.clone()),
                            None => Example::synthesized(synthesize(&api, schema, Mode::Response)),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        api.operations = api.read_operations()?;
        api.tags = api.read_tags();
        api.problems = api.read_problems()?;
        Ok(api)
    }

    /// Follows `value`'s `$ref` (and the target's, and so on) to what it names.
    pub fn resolve<'a>(&'a self, value: &'a Value) -> Result<&'a Value, DocsError> {
        let mut current = value;
        for _ in 0..MAX_REF_DEPTH {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => current = self.lookup(reference)?,
                None => return Ok(current),
            }
        }
        Err(DocsError::Spec(format!("a chain of `$ref`s is deeper than {MAX_REF_DEPTH}")))
    }

    /// The value a local reference such as `#/components/schemas/ApiKey` points at.
    pub fn lookup(&self, reference: &str) -> Result<&Value, DocsError> {
        reference
            .strip_prefix('#')
            .and_then(|pointer| self.doc.pointer(pointer))
            .ok_or_else(|| DocsError::DanglingRef(reference.to_owned()))
    }

    /// The operations a tag groups, in document order.
    pub fn operations_tagged<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Operation> {
        self.operations.iter().filter(move |op| op.tags.iter().any(|t| t == tag))
    }

    /// The names of the schemas `value` refers to, directly or through other schemas.
    pub fn schemas_reached(&self, value: &Value) -> BTreeSet<String> {
        let mut reached = BTreeSet::new();
        let mut pending = vec![value.clone()];
        while let Some(value) = pending.pop() {
            let mut references = Vec::new();
            collect_refs(&value, &mut references);
            for reference in references {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    if reached.insert(name.to_owned())
                        && let Ok(target) = self.lookup(&reference)
                    {
                        pending.push(target.clone());
                    }
                } else if let Ok(target) = self.lookup(&reference) {
                    pending.push(target.clone());
                }
            }
        }
        reached
    }

    /// The raw operation object for `operation`, for cross-referencing.
    pub fn raw_operation(&self, operation: &Operation) -> Value {
        self.doc
            .get("paths")
            .and_then(|paths| paths.get(&operation.path))
            .and_then(|item| item.get(operation.method.to_ascii_lowercase()))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn read_security_schemes(&self) -> Result<BTreeMap<String, SecurityScheme>, DocsError> {
        let mut schemes = BTreeMap::new();
        let Some(raw) = self.doc.pointer("/components/securitySchemes").and_then(Value::as_object) else {
            return Ok(schemes);
        };
        for (name, scheme) in raw {
            let scheme = self.resolve(scheme)?;
            let kind = match (text(scheme, "type").as_str(), text(scheme, "in").as_str()) {
                ("apiKey", "header") => SecurityKind::HeaderKey(text(scheme, "name")),
                ("http", _) if text(scheme, "scheme").eq_ignore_ascii_case("bearer") => SecurityKind::Bearer,
                ("http", _) if text(scheme, "scheme").eq_ignore_ascii_case("basic") => SecurityKind::Basic,
                (kind, location) => SecurityKind::Other(format!("{kind} {location}").trim().to_owned()),
            };
            schemes.insert(
                name.clone(),
                SecurityScheme { name: name.clone(), kind, description: text(scheme, "description") },
            );
        }
        Ok(schemes)
    }

    fn read_tags(&self) -> Vec<Tag> {
        let mut tags: Vec<Tag> = self
            .doc
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .map(|tag| Tag { name: text(tag, "name"), description: text(tag, "description") })
                    .collect()
            })
            .unwrap_or_default();
        for operation in &self.operations {
            for name in &operation.tags {
                if !tags.iter().any(|tag| &tag.name == name) {
                    tags.push(Tag { name: name.clone(), description: String::new() });
                }
            }
        }
        tags.retain(|tag| self.operations_tagged(&tag.name).next().is_some());
        tags
    }

    fn read_operations(&self) -> Result<Vec<Operation>, DocsError> {
        let mut operations = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            return Ok(operations);
        };
        let top_security = self.doc.get("security");
        for (path, item) in paths {
            let item = self.resolve(item)?;
            let shared = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for method in METHODS {
                let Some(raw) = item.get(method) else { continue };
                operations.push(self.read_operation(path, method, raw, &shared, top_security)?);
            }
        }
        let mut seen = BTreeSet::new();
        for operation in &operations {
            if !seen.insert(operation.id.clone()) {
                return Err(DocsError::Spec(format!("two operations share the id `{}`", operation.id)));
            }
        }
        Ok(operations)
    }

    fn read_operation(
        &self,
        path: &str,
        method: &str,
        raw: &Value,
        shared: &[Value],
        top_security: Option<&Value>,
    ) -> Result<Operation, DocsError> {
        let id = match raw.get("operationId").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => fallback_id(method, path),
        };
        let mut parameters = Vec::new();
        for parameter in raw.get("parameters").and_then(Value::as_array).into_iter().flatten() {
            parameters.push(self.read_parameter(parameter)?);
        }
        for parameter in shared {
            let parameter = self.read_parameter(parameter)?;
            if !parameters
                .iter()
                .any(|p: &Parameter| p.name == parameter.name && p.location == parameter.location)
            {
                parameters.push(parameter);
            }
        }
        let security = raw
            .get("security")
            .or(top_security)
            .and_then(Value::as_array)
            .map(|alternatives| {
                alternatives
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|requirement| requirement.keys().cloned().collect::<Vec<_>>())
                    .filter(|schemes| !schemes.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        // `security: [{}]` among other alternatives makes the credential optional; show none then.
        let optional =
            raw.get("security").or(top_security).and_then(Value::as_array).is_some_and(|alternatives| {
                alternatives.iter().any(|a| a.as_object().is_some_and(Map::is_empty))
            });
        let request_body = match raw.get("requestBody") {
            Some(body) => {
                let body = self.resolve(body)?;
                Some(RequestBody {
                    required: body.get("required").and_then(Value::as_bool).unwrap_or(false),
                    description: text(body, "description"),
                    content: self.read_content(body.get("content"), Mode::Request, &id)?,
                })
            }
            None => None,
        };
        let mut responses = Vec::new();
        for (status, response) in raw.get("responses").and_then(Value::as_object).into_iter().flatten() {
            let response = self.resolve(response)?;
            let mut headers = Vec::new();
            for (name, header) in response.get("headers").and_then(Value::as_object).into_iter().flatten() {
                let header = self.resolve(header)?;
                headers.push(Header {
                    name: name.clone(),
                    description: text(header, "description"),
                    required: header.get("required").and_then(Value::as_bool).unwrap_or(false),
                    schema: header.get("schema").cloned().unwrap_or(Value::Null),
                });
            }
            let mut content = self.read_content(response.get("content"), Mode::Response, &id)?;
            for media in &mut content {
                for example in media.examples.iter_mut().filter(|e| e.synthesized) {
                    fill_problem(&mut example.value, &media.media_type, status);
                }
            }
            responses.push(Response {
                status: status.clone(),
                description: text(response, "description"),
                headers,
                content,
            });
        }
        responses.sort_by_key(|r| status_order(&r.status));
        Ok(Operation {
            id,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            summary: text(raw, "summary"),
            description: text(raw, "description"),
            tags: raw
                .get("tags")
                .and_then(Value::as_array)
                .map(|tags| tags.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .filter(|tags: &Vec<String>| !tags.is_empty())
                .unwrap_or_else(|| vec!["default".to_owned()]),
            deprecated: raw.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            security: if optional { Vec::new() } else { security },
            parameters,
            request_body,
            responses,
        })
    }

    fn read_parameter(&self, parameter: &Value) -> Result<Parameter, DocsError> {
        let parameter = self.resolve(parameter)?;
        let schema = parameter.get("schema").cloned().unwrap_or(Value::Null);
        // The parameter's own example, or its inline schema's: a shared schema's example (a
        // `$ref`'s) shows what the type looks like, not a value this parameter is worth sending.
        let given = parameter
            .get("example")
            .cloned()
            .or_else(|| parameter.pointer("/examples").and_then(first_example_value))
            .or_else(|| schema.get("example").cloned());
        let location = text(parameter, "in");
        Ok(Parameter {
            name: text(parameter, "name"),
            required: location == "path"
                || parameter.get("required").and_then(Value::as_bool).unwrap_or(false),
            location,
            description: text(parameter, "description"),
            deprecated: parameter.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            example_given: given.is_some(),
            example: match given {
                Some(example) => example,
                None => synthesize(self, &schema, Mode::Request),
            },
            schema,
        })
    }

    /// The media types of a body of `operation`, each with the examples its page shows: the
    /// document's (named ones only when their [`EXAMPLE_OPERATIONS`] admit `operation`), else
    /// one synthesized from the schema.
    fn read_content(
        &self,
        content: Option<&Value>,
        mode: Mode,
        operation: &str,
    ) -> Result<Vec<Media>, DocsError> {
        let mut out = Vec::new();
        for (media_type, media) in content.and_then(Value::as_object).into_iter().flatten() {
            let schema = media.get("schema").cloned();
            let mut examples = Vec::new();
            if let Some(example) = media.get("example") {
                examples.push(Example::given(None, String::new(), example.clone()));
            }
            for (name, example) in self.named_examples(media)? {
                if applies_to(example, operation)
                    && let Some(value) = example.get("value")
                {
                    let summary = text(example, "summary").if_empty(&text(example, "description"));
                    examples.push(Example::given(Some(name.clone()), summary, value.clone()));
                }
            }
            if examples.is_empty()
                && let Some(schema) = &schema
            {
                examples.push(Example::synthesized(synthesize(self, schema, mode)));
            }
            out.push(Media { media_type: media_type.clone(), schema, examples });
        }
        Ok(out)
    }

    /// The named examples of a media type object, their `$ref`s resolved.
    fn named_examples<'a>(&'a self, media: &'a Value) -> Result<Vec<(&'a String, &'a Value)>, DocsError> {
        media
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, example)| Ok((name, self.resolve(example)?)))
            .collect()
    }

    /// Every problem code the operations' pages show, then those of shared responses that no
    /// operation shows (each with no operation).
    fn read_problems(&self) -> Result<Vec<ProblemCode>, DocsError> {
        let mut problems: Vec<ProblemCode> = Vec::new();
        for operation in &self.operations {
            for response in &operation.responses {
                for media in &response.content {
                    for example in media.examples.iter().filter(|e| !e.synthesized) {
                        let Some(code) = problem_code(&example.value) else { continue };
                        match problems.iter_mut().find(|p| p.code == code) {
                            Some(known) => {
                                if !known.operations.contains(&operation.id) {
                                    known.operations.push(operation.id.clone());
                                }
                            }
                            None => problems.push(ProblemCode {
                                code: code.to_owned(),
                                status: response.status.clone(),
                                summary: example.summary.clone(),
                                value: example.value.clone(),
                                operations: vec![operation.id.clone()],
                            }),
                        }
                    }
                }
            }
        }
        let shared = self.doc.pointer("/components/responses").and_then(Value::as_object);
        for response in shared.into_iter().flat_map(|responses| responses.values()) {
            let response = self.resolve(response)?;
            for media in
                response.get("content").and_then(Value::as_object).into_iter().flat_map(|c| c.values())
            {
                for (_, example) in self.named_examples(media)? {
                    let Some(value) = example.get("value") else { continue };
                    let Some(code) = problem_code(value) else { continue };
                    if problems.iter().all(|p| p.code != code) {
                        problems.push(ProblemCode {
                            code: code.to_owned(),
                            status: value.get("status").map(|s| s.to_string()).unwrap_or_default(),
                            summary: text(example, "summary").if_empty(&text(example, "description")),
                            value: value.clone(),
                            operations: Vec::new(),
                        });
                    }
                }
            }
        }
        Ok(problems)
    }
}

impl Example {
    fn given(name: Option<String>, summary: String, value: Value) -> Self {
        Example { name, summary, value, synthesized: false }
    }

    fn synthesized(value: Value) -> Self {
        Example { name: None, summary: String::new(), value, synthesized: true }
    }
}

/// Whether a named example applies to `operation`: it lists no operations, or lists this one.
fn applies_to(example: &Value, operation: &str) -> bool {
    match example.get(EXAMPLE_OPERATIONS).and_then(Value::as_array) {
        Some(operations) => operations.iter().any(|id| id.as_str() == Some(operation)),
        None => true,
    }
}

/// The `code` of an RFC 9457 problem document whose `type` names that code, as Keyward's do.
pub fn problem_code(value: &Value) -> Option<&str> {
    let code = value.get("code").and_then(Value::as_str)?;
    let kind = value.get("type").and_then(Value::as_str)?;
    kind.strip_suffix(code).is_some_and(|rest| rest.ends_with('#')).then_some(code)
}

/// A synthesized RFC 9457 problem document tells its own status and title, as real ones do.
fn fill_problem(value: &mut Value, media_type: &str, status: &str) {
    let (Some(object), Ok(code)) = (value.as_object_mut(), status.parse::<u16>()) else { return };
    if !media_type.starts_with("application/problem+") {
        return;
    }
    object.insert("status".into(), Value::from(code));
    object.insert("title".into(), Value::from(crate::status::reason(code)));
}

fn first_example_value(examples: &Value) -> Option<Value> {
    examples.as_object()?.values().find_map(|example| example.get("value").cloned())
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                out.push(reference.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Numeric statuses in order, then ranges such as `4XX`, then `default`.
fn status_order(status: &str) -> (u8, String) {
    match status.parse::<u16>() {
        Ok(_) => (0, status.to_owned()),
        Err(_) if status == "default" => (2, String::new()),
        Err(_) => (1, status.to_owned()),
    }
}

/// `get_v1_api_keys_api_key_id` for an operation the document gives no id.
fn fallback_id(method: &str, path: &str) -> String {
    let slug: String =
        path.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let slug = slug.split('_').filter(|part| !part.is_empty()).collect::<Vec<_>>().join("_");
    format!("{method}_{slug}")
}

/// The string at `key`, or the empty string.
fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().trim_end().to_owned()
}

trait IfEmpty {
    fn if_empty(self, fallback: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, fallback: &str) -> String {
        if self.is_empty() { fallback.to_owned() } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"
openapi: 3.0.3
info: {title: Pets, version: "1"}
security: [{key: []}]
paths:
  /pets/{pet_id}:
    parameters:
      - {name: pet_id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      operationId: pet_view
      responses:
        '404': {$ref: '#/components/responses/Missing'}
        '409': {$ref: '#/components/responses/Shared'}
        '200':
          description: The pet
          content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}
    delete:
      security: []
      responses:
        '204': {description: Gone}
        '409': {$ref: '#/components/responses/Shared'}
    put:
      operationId: pet_replace
      responses:
        '409': {$ref: '#/components/responses/Shared'}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Key}
  responses:
    Missing:
      description: No such pet
      content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    Shared:
      description: Refused
      content:
        application/problem+json:
          schema: {$ref: '#/components/schemas/Problem'}
          examples:
            pets.gone: {value: {type: '/problems#pets.gone', status: 409, code: pets.gone}}
            pets.busy:
              x-operations: [pet_view]
              value: {type: '/problems#pets.busy', status: 409, code: pets.busy}
            route.none:
              x-operations: []
              value: {type: '/problems#route.none', status: 409, code: route.none}
  schemas:
    Pet:
      type: object
      required: [name]
      properties: {name: {type: string, example: Rex}}
    Problem:
      type: object
      properties: {status: {type: integer}, title: {type: string}}
"##;

    #[test]
    fn operations_inherit_path_parameters_and_top_level_security() {
        let api = Api::parse(SPEC).unwrap();
        let view = &api.operations[0];
        assert_eq!((view.id.as_str(), view.method.as_str()), ("pet_view", "GET"));
        assert_eq!(view.parameters[0].name, "pet_id");
        assert_eq!(view.security, vec![vec!["key".to_owned()]]);
        assert_eq!(api.security_schemes["key"].kind, SecurityKind::HeaderKey("X-Key".into()));
    }

    #[test]
    fn responses_are_sorted_and_resolved_and_problems_tell_their_status() {
        let api = Api::parse(SPEC).unwrap();
        let view = &api.operations[0];
        let statuses: Vec<&str> = view.responses.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["200", "404", "409"]);
        assert_eq!(view.success_status(), Some(200));
        assert_eq!(view.responses[1].description, "No such pet");
        let problem = &view.responses[1].content[0].examples[0].value;
        assert_eq!(problem["status"], 404);
        assert_eq!(problem["title"], "Not Found");
    }

    #[test]
    fn a_shared_example_shows_only_on_the_operations_it_names_and_the_problems_list_every_code() {
        let api = Api::parse(SPEC).unwrap();
        let shown = |id: &str| -> Vec<String> {
            let operation = api.operations.iter().find(|op| op.id == id).unwrap();
            let conflict = operation.responses.iter().find(|r| r.status == "409").unwrap();
            conflict.content[0].examples.iter().filter_map(|e| e.name.clone()).collect()
        };
        assert_eq!(shown("pet_view"), ["pets.gone", "pets.busy"]);
        assert_eq!(shown("pet_replace"), ["pets.gone"]);
        let problems: Vec<(&str, Vec<String>)> =
            api.problems.iter().map(|p| (p.code.as_str(), p.operations.clone())).collect();
        assert_eq!(
            problems,
            [
                (
                    "pets.gone",
                    vec!["pet_view".to_owned(), "pet_replace".to_owned(), "delete_pets_pet_id".to_owned()]
                ),
                ("pets.busy", vec!["pet_view".to_owned()]),
                ("route.none", vec![]),
            ]
        );
        assert_eq!(api.problems[2].status, "409");
    }

    #[test]
    fn an_operation_without_an_id_gets_one_from_its_method_and_path() {
        let api = Api::parse(SPEC).unwrap();
        let delete = api.operations.iter().find(|op| op.method == "DELETE").unwrap();
        assert_eq!(delete.id, "delete_pets_pet_id");
        assert!(delete.security.is_empty());
        assert_eq!(api.tags[0].name, "default");
    }

    #[test]
    fn a_dangling_reference_is_an_error() {
        let broken = SPEC.replace("#/components/responses/Missing", "#/components/responses/Nowhere");
        assert!(matches!(Api::parse(&broken), Err(DocsError::DanglingRef(_))));
    }
}
