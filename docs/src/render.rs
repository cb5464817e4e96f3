//! Turns the model into pages: views for the templates in `templates/`, rendered with minijinja.

use minijinja::{Environment, Value as TemplateValue};
use serde::Serialize;
use serde_json::Value;

use crate::samples::{self, Sample};
use crate::spec::{self, Api, Example, Media, NamedSchema, Operation, SecurityKind};
use crate::{DocsError, Site, markdown, status};

/// Every template, by the name the others use for it.
const TEMPLATES: [(&str, &str); 14] = [
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("operation.html", include_str!("../templates/operation.html")),
    ("schema.html", include_str!("../templates/schema.html")),
    ("problems.html", include_str!("../templates/problems.html")),
    ("index.md", include_str!("../templates/index.md")),
    ("operation.md", include_str!("../templates/operation.md")),
    ("schema.md", include_str!("../templates/schema.md")),
    ("problems.md", include_str!("../templates/problems.md")),
    ("samples/curl.sh", include_str!("../templates/samples/curl.sh")),
    ("samples/fetch.mjs", include_str!("../templates/samples/fetch.mjs")),
    ("samples/requests.py", include_str!("../templates/samples/requests.py")),
    ("samples/main.go", include_str!("../templates/samples/main.go")),
];

/// Files copied as they are.
const ASSETS: [(&str, &str); 3] = [
    ("assets/style.css", include_str!("../templates/assets/style.css")),
    ("assets/docs.js", include_str!("../templates/assets/docs.js")),
    ("assets/favicon.svg", include_str!("../templates/assets/favicon.svg")),
];

/// Renders every page of the site.
pub fn render(api: &Api) -> Result<Site, DocsError> {
    let env = environment()?;
    let common = Common::new(api);
    let mut site = Site::default();
    for (path, text) in ASSETS {
        site.insert(path, text);
    }

    let index = IndexView { schemas: api.schemas.iter().map(|s| s.name.clone()).collect() };
    let context = page(&common, "", "index", &index);
    site.insert("index.html", render_template(&env, "index.html", &context)?);
    site.insert("index.md", render_template(&env, "index.md", &context)?);

    for operation in &api.operations {
        let view = OperationView::new(&env, api, operation)?;
        let context = page(&common, "../", &operation.id, &view);
        site.insert(
            format!("operations/{}.html", operation.id),
            render_template(&env, "operation.html", &context)?,
        );
        site.insert(
            format!("operations/{}.md", operation.id),
            render_template(&env, "operation.md", &context)?,
        );
    }

    for schema in &api.schemas {
        let view = SchemaView::new(api, schema);
        let context = page(&common, "../", &schema.name, &view);
        site.insert(format!("schemas/{}.html", schema.name), render_template(&env, "schema.html", &context)?);
        site.insert(format!("schemas/{}.md", schema.name), render_template(&env, "schema.md", &context)?);
    }

    let mut problems: Vec<ProblemView> = api
        .problems
        .iter()
        .map(|problem| ProblemView {
            code: problem.code.clone(),
            status: problem.status.clone(),
            reason: problem.status.parse().map(status::reason).unwrap_or_default().to_owned(),
            summary: problem.summary.clone(),
            json: serde_json::to_string_pretty(&problem.value).unwrap_or_default(),
            operations: problem
                .operations
                .iter()
                .filter_map(|id| api.operations.iter().find(|op| &op.id == id))
                .map(NavItem::new)
                .collect(),
        })
        .collect();
    problems.sort_by(|a, b| (&a.status, &a.code).cmp(&(&b.status, &b.code)));
    let problems = ProblemsView { problems };
    let context = page(&common, "", "problems", &problems);
    site.insert("problems.html", render_template(&env, "problems.html", &context)?);
    site.insert("problems.md", render_template(&env, "problems.md", &context)?);
    Ok(site)
}

fn environment() -> Result<Environment<'static>, DocsError> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    // HTML pages escape what they interpolate; Markdown pages and examples take text as it is.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|err| DocsError::Template { name: name.to_owned(), detail: format!("{err:#}") })?;
    }
    // Escapes what HTML needs escaped, and leaves `/` alone (minijinja's default writes `&#x2f;`).
    env.set_formatter(|out, state, value| {
        if state.auto_escape() == minijinja::AutoEscape::Html
            && !value.is_safe()
            && !value.is_undefined()
            && !value.is_none()
        {
            out.write_str(&escape_html(&value.to_string())).map_err(|_| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write the page")
            })
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env.add_filter("markdown", |text: String| TemplateValue::from_safe_string(markdown::block(&text)));
    env.add_filter("markdown_inline", |text: String| {
        TemplateValue::from_safe_string(markdown::inline(&text))
    });
    env.add_filter("cell", |text: String| text.replace('|', "\\|").replace('\n', " "));
    // A tag's name is a title ("API keys"); its anchor is the name in lowercase, words joined by `-`.
    env.add_filter("slug", |text: String| {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase()
    });
    samples::register_filters(&mut env);
    Ok(env)
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn render_template(env: &Environment<'_>, name: &str, context: &impl Serialize) -> Result<String, DocsError> {
    env.get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|err| DocsError::Template { name: name.to_owned(), detail: format!("{err:#}") })
}

/// What every page gets, beside its own view.
#[derive(Debug, Serialize)]
struct Page<'a, T: Serialize> {
    api: &'a ApiView,
    nav: &'a [NavGroup],
    /// The way back to the site's root from this page: `""` or `"../"`.
    root: &'static str,
    /// The operation id or schema name of this page, so the navigation can mark it.
    current: &'a str,
    /// This page's Markdown twin, relative to it.
    markdown: String,
    page: &'a T,
}

fn page<'a, T: Serialize>(
    common: &'a Common,
    root: &'static str,
    current: &'a str,
    view: &'a T,
) -> Page<'a, T> {
    Page { api: &common.api, nav: &common.nav, root, current, markdown: format!("{current}.md"), page: view }
}

struct Common {
    api: ApiView,
    nav: Vec<NavGroup>,
}

impl Common {
    fn new(api: &Api) -> Self {
        let schemes = api
            .security_schemes
            .values()
            .map(|scheme| SchemeView {
                name: scheme.name.clone(),
                how: scheme_how(&scheme.kind, &samples::credential_variable(api)),
                description: scheme.description.clone(),
            })
            .collect();
        let nav = api
            .tags
            .iter()
            .map(|tag| NavGroup {
                name: tag.name.clone(),
                description: tag.description.clone(),
                operations: api.operations_tagged(&tag.name).map(NavItem::new).collect(),
            })
            .collect();
        Common {
            api: ApiView {
                title: api.title.clone(),
                version: api.version.clone(),
                description: api.description.clone(),
                server_url: api.server_url.clone(),
                variable: samples::credential_variable(api),
                schemes,
            },
            nav,
        }
    }
}

#[derive(Debug, Serialize)]
struct ApiView {
    title: String,
    version: String,
    description: String,
    server_url: String,
    /// The environment variable the examples read the credential from.
    variable: String,
    schemes: Vec<SchemeView>,
}

#[derive(Debug, Serialize)]
struct SchemeView {
    name: String,
    /// Markdown: how a request carries the credential.
    how: String,
    description: String,
}

fn scheme_how(kind: &SecurityKind, variable: &str) -> String {
    match kind {
        SecurityKind::HeaderKey(name) => format!("the `{name}: ${variable}` header"),
        SecurityKind::Bearer => format!("the `Authorization: Bearer ${variable}` header"),
        SecurityKind::Basic => "HTTP Basic authentication (`Authorization: Basic …`)".to_owned(),
        SecurityKind::Other(what) => format!("`{what}`"),
    }
}

#[derive(Debug, Serialize)]
struct NavGroup {
    name: String,
    description: String,
    operations: Vec<NavItem>,
}

#[derive(Debug, Clone, Serialize)]
struct NavItem {
    id: String,
    method: String,
    path: String,
    summary: String,
}

impl NavItem {
    fn new(operation: &Operation) -> Self {
        NavItem {
            id: operation.id.clone(),
            method: operation.method.clone(),
            path: operation.path.clone(),
            summary: if operation.summary.is_empty() {
                operation.id.clone()
            } else {
                operation.summary.clone()
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct IndexView {
    schemas: Vec<String>,
}

#[derive(Debug, Serialize)]
struct OperationView {
    #[serde(flatten)]
    item: NavItem,
    description: String,
    tags: Vec<String>,
    deprecated: bool,
    /// Markdown sentences, one per alternative; empty when no credential is needed.
    auth: Vec<String>,
    samples: Vec<Sample>,
    parameters: Vec<FieldView>,
    request: Option<BodyView>,
    responses: Vec<ResponseView>,
    success_status: String,
}

impl OperationView {
    fn new(env: &Environment<'_>, api: &Api, operation: &Operation) -> Result<Self, DocsError> {
        let variable = samples::credential_variable(api);
        let auth = operation
            .security
            .iter()
            .map(|alternative| {
                alternative
                    .iter()
                    .map(|name| match api.security_schemes.get(name) {
                        Some(scheme) => scheme_how(&scheme.kind, &variable),
                        None => format!("`{name}`"),
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            })
            .collect();
        let parameters = operation
            .parameters
            .iter()
            .map(|parameter| FieldView {
                name: parameter.name.clone(),
                location: parameter.location.clone(),
                kind: describe(api, &parameter.schema),
                required: parameter.required,
                description: parameter.description.clone(),
                constraints: constraints(api, &parameter.schema, parameter.deprecated),
            })
            .collect();
        let request = operation.request_body.as_ref().map(|body| BodyView {
            required: body.required,
            description: body.description.clone(),
            content: body.content.iter().map(|media| MediaView::new(api, media)).collect(),
        });
        let responses = operation
            .responses
            .iter()
            .map(|response| {
                let code = response.status.parse::<u16>().ok();
                ResponseView {
                    status: response.status.clone(),
                    reason: code.map(status::reason).unwrap_or_default().to_owned(),
                    rfc_url: code.and_then(status::rfc_url).unwrap_or_default(),
                    description: response.description.clone(),
                    headers: response
                        .headers
                        .iter()
                        .map(|header| FieldView {
                            name: header.name.clone(),
                            location: "header".to_owned(),
                            kind: describe(api, &header.schema),
                            required: header.required,
                            description: header.description.clone(),
                            constraints: constraints(api, &header.schema, false),
                        })
                        .collect(),
                    content: response.content.iter().map(|media| MediaView::new(api, media)).collect(),
                }
            })
            .collect();
        Ok(OperationView {
            item: NavItem::new(operation),
            description: operation.description.clone(),
            tags: operation.tags.clone(),
            deprecated: operation.deprecated,
            auth,
            samples: samples::samples(env, api, operation)?,
            parameters,
            request,
            responses,
            success_status: operation.success_status().map(|s| s.to_string()).unwrap_or_default(),
        })
    }
}

/// A row of a parameter, header or property table.
#[derive(Debug, Serialize)]
struct FieldView {
    name: String,
    location: String,
    kind: Vec<TypePart>,
    required: bool,
    description: String,
    /// Markdown: `one of …`, bounds, pattern, default.
    constraints: String,
}

#[derive(Debug, Serialize)]
struct BodyView {
    required: bool,
    description: String,
    content: Vec<MediaView>,
}

#[derive(Debug, Serialize)]
struct ResponseView {
    status: String,
    reason: String,
    rfc_url: String,
    description: String,
    headers: Vec<FieldView>,
    content: Vec<MediaView>,
}

#[derive(Debug, Serialize)]
struct MediaView {
    media_type: String,
    kind: Vec<TypePart>,
    examples: Vec<ExampleView>,
}

impl MediaView {
    fn new(api: &Api, media: &Media) -> Self {
        MediaView {
            media_type: media.media_type.clone(),
            kind: media.schema.as_ref().map(|schema| describe(api, schema)).unwrap_or_default(),
            examples: media
                .examples
                .iter()
                .map(|example| ExampleView::new(example, &media.media_type))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ExampleView {
    name: String,
    summary: String,
    /// The example as the body's text: JSON, or YAML for a YAML media type.
    json: String,
    /// The code fence's language: `json` or `yaml`.
    language: &'static str,
    synthesized: bool,
    /// The problem code the example shows, when it is a problem document.
    code: String,
}

impl ExampleView {
    fn new(example: &Example, media_type: &str) -> Self {
        let yaml = media_type.split(';').next().unwrap_or_default().trim().ends_with("yaml");
        let text = match &example.value {
            Value::String(text) => text.clone(),
            other if yaml => yaml_serde::to_string(other).unwrap_or_default().trim_end().to_owned(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        let code = if example.synthesized { None } else { spec::problem_code(&example.value) };
        ExampleView {
            name: example.name.clone().unwrap_or_default(),
            summary: example.summary.clone(),
            json: text,
            language: if yaml { "yaml" } else { "json" },
            synthesized: example.synthesized,
            code: code.unwrap_or_default().to_owned(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ProblemsView {
    problems: Vec<ProblemView>,
}

#[derive(Debug, Serialize)]
struct ProblemView {
    code: String,
    status: String,
    reason: String,
    summary: String,
    json: String,
    operations: Vec<NavItem>,
}

#[derive(Debug, Serialize)]
struct SchemaView {
    name: String,
    description: String,
    kind: Vec<TypePart>,
    properties: Vec<FieldView>,
    constraints: String,
    /// `allOf`, `oneOf` or `anyOf`, and their members.
    composition: Vec<(String, Vec<Vec<TypePart>>)>,
    example: String,
    /// Whether the example was made up, the document giving none.
    example_synthesized: bool,
    used_by: Vec<NavItem>,
}

impl SchemaView {
    fn new(api: &Api, named: &NamedSchema) -> Self {
        let (name, schema) = (named.name.as_str(), &named.schema);
        let mut properties = Vec::new();
        property_rows(api, schema, "", &mut properties, 0);
        let composition = ["allOf", "oneOf", "anyOf"]
            .into_iter()
            .filter_map(|key| {
                let members = schema.get(key)?.as_array()?;
                Some((key.to_owned(), members.iter().map(|member| describe(api, member)).collect()))
            })
            .collect();
        let used_by = api
            .operations
            .iter()
            .filter(|operation| api.schemas_reached(&api.raw_operation(operation)).contains(name))
            .map(NavItem::new)
            .collect();
        SchemaView {
            name: name.to_owned(),
            description: schema.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
            kind: describe(api, schema),
            properties,
            constraints: constraints(api, schema, false),
            composition,
            example: serde_json::to_string_pretty(&named.example.value).unwrap_or_default(),
            example_synthesized: named.example.synthesized,
            used_by,
        }
    }
}

/// The property rows of an object schema; inline objects and arrays of them add
/// `parent.child` and `parent[].child` rows.
fn property_rows(api: &Api, schema: &Value, prefix: &str, rows: &mut Vec<FieldView>, depth: usize) {
    if depth > 4 {
        return;
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let full = format!("{prefix}{name}");
        let description = property
            .get("description")
            .and_then(Value::as_str)
            .or_else(|| api.resolve(property).ok().and_then(|p| p.get("description")).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        let deprecated = property.get("deprecated").and_then(Value::as_bool).unwrap_or(false);
        rows.push(FieldView {
            name: full.clone(),
            location: String::new(),
            kind: describe(api, property),
            required: required.contains(&name.as_str()),
            description,
            constraints: constraints(api, property, deprecated),
        });
        if property.get("$ref").is_none() {
            if property.get("properties").is_some() {
                property_rows(api, property, &format!("{full}."), rows, depth + 1);
            } else if let Some(items) =
                property.get("items").filter(|items| items.get("properties").is_some())
            {
                property_rows(api, items, &format!("{full}[]."), rows, depth + 1);
            }
        }
    }
}

/// A piece of a type's description; `schema` makes it a link to that schema's page.
#[derive(Debug, Clone, Serialize)]
struct TypePart {
    text: String,
    schema: Option<String>,
}

fn text_part(text: impl Into<String>) -> TypePart {
    TypePart { text: text.into(), schema: None }
}

/// `string(uuid)`, `array of Scope`, `ApiKeyStatus | null`: a schema's type in a few words.
fn describe(api: &Api, schema: &Value) -> Vec<TypePart> {
    let mut parts = describe_inner(api, schema, 0);
    if schema.get("nullable").and_then(Value::as_bool).unwrap_or(false) {
        parts.push(text_part(" | null"));
    }
    parts
}

fn describe_inner(api: &Api, schema: &Value, depth: usize) -> Vec<TypePart> {
    if depth > 6 || schema.is_null() {
        return vec![text_part("any")];
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return match reference.strip_prefix("#/components/schemas/") {
            Some(name) => vec![TypePart { text: name.to_owned(), schema: Some(name.to_owned()) }],
            None => describe_inner(api, api.resolve(schema).unwrap_or(&Value::Null), depth + 1),
        };
    }
    for (key, joiner) in [("allOf", " & "), ("oneOf", " or "), ("anyOf", " or ")] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            let mut parts = Vec::new();
            for (i, member) in members.iter().enumerate() {
                if i > 0 {
                    parts.push(text_part(joiner));
                }
                parts.extend(describe_inner(api, member, depth + 1));
            }
            return parts;
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("items").is_some() => "array",
        _ => return vec![text_part("any")],
    };
    match kind {
        "array" => {
            let mut parts = vec![text_part("array of ")];
            parts.extend(describe_inner(api, schema.get("items").unwrap_or(&Value::Null), depth + 1));
            parts
        }
        "object" => match schema.get("additionalProperties") {
            Some(inner @ Value::Object(map)) if !map.is_empty() && schema.get("properties").is_none() => {
                let mut parts = vec![text_part("map of ")];
                parts.extend(describe_inner(api, inner, depth + 1));
                parts
            }
            _ => vec![text_part("object")],
        },
        other => match schema.get("format").and_then(Value::as_str) {
            Some(format) => vec![text_part(format!("{other}({format})"))],
            None => vec![text_part(other)],
        },
    }
}

/// Markdown: what a value must be beyond its type.
fn constraints(api: &Api, schema: &Value, deprecated: bool) -> String {
    let schema = match schema.get("allOf").and_then(Value::as_array) {
        Some(members) if members.len() == 1 => api.resolve(&members[0]).unwrap_or(schema),
        _ if schema.get("$ref").is_some() => api.resolve(schema).unwrap_or(schema),
        _ => schema,
    };
    let number = |key: &str| schema.get(key).filter(|v| v.is_number()).map(Value::to_string);
    let mut out = Vec::new();
    if deprecated {
        out.push("**deprecated**".to_owned());
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", scalar_text(v))).collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    match (number("minimum"), number("maximum")) {
        (Some(min), Some(max)) => out.push(format!("from {min} to {max}")),
        (Some(min), None) => out.push(format!("at least {min}")),
        (None, Some(max)) => out.push(format!("at most {max}")),
        (None, None) => {}
    }
    match (number("minLength"), number("maxLength")) {
        (Some(min), Some(max)) => out.push(format!("{min} to {max} characters")),
        (Some(min), None) => out.push(format!("at least {min} characters")),
        (None, Some(max)) => out.push(format!("at most {max} characters")),
        (None, None) => {}
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        out.push(format!("matches `{pattern}`"));
    }
    if let Some(max) = number("maxItems") {
        out.push(format!("at most {max} items"));
    }
    if let Some(max) = number("maxProperties") {
        out.push(format!("at most {max} properties"));
    }
    if let Some(default) = schema.get("default") {
        out.push(format!("default `{}`", scalar_text(default)));
    }
    if schema.get("readOnly").and_then(Value::as_bool).unwrap_or(false) {
        out.push("read-only".to_owned());
    }
    out.join("; ")
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
