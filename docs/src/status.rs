//! HTTP status codes: their reason phrases and the RFC section that defines each.

/// The reason phrase of `code`, such as `Not Found`.
pub fn reason(code: u16) -> &'static str {
    definition(code).map_or("", |(reason, _)| reason)
}

/// Where `code` is defined, such as RFC 9110's section on `404`.
pub fn rfc_url(code: u16) -> Option<String> {
    definition(code).map(|(_, rfc)| match rfc {
        Rfc::Http => format!("https://www.rfc-editor.org/rfc/rfc9110.html#status.{code}"),
        Rfc::Other(url) => url.to_owned(),
    })
}

/// The RFC a status comes from.
enum Rfc {
    /// RFC 9110, HTTP Semantics, whose section anchors are `status.<code>`.
    Http,
    Other(&'static str),
}

fn definition(code: u16) -> Option<(&'static str, Rfc)> {
    let http = |reason| Some((reason, Rfc::Http));
    match code {
        100 => http("Continue"),
        101 => http("Switching Protocols"),
        200 => http("OK"),
        201 => http("Created"),
        202 => http("Accepted"),
        203 => http("Non-Authoritative Information"),
        204 => http("No Content"),
        205 => http("Reset Content"),
        206 => http("Partial Content"),
        300 => http("Multiple Choices"),
        301 => http("Moved Permanently"),
        302 => http("Found"),
        303 => http("See Other"),
        304 => http("Not Modified"),
        307 => http("Temporary Redirect"),
        308 => http("Permanent Redirect"),
        400 => http("Bad Request"),
        401 => http("Unauthorized"),
        402 => http("Payment Required"),
        403 => http("Forbidden"),
        404 => http("Not Found"),
        405 => http("Method Not Allowed"),
        406 => http("Not Acceptable"),
        407 => http("Proxy Authentication Required"),
        408 => http("Request Timeout"),
        409 => http("Conflict"),
        410 => http("Gone"),
        411 => http("Length Required"),
        412 => http("Precondition Failed"),
        413 => http("Payload Too Large"),
        414 => http("URI Too Long"),
        415 => http("Unsupported Media Type"),
        416 => http("Range Not Satisfiable"),
        417 => http("Expectation Failed"),
        421 => http("Misdirected Request"),
        422 => http("Unprocessable Entity"),
        426 => http("Upgrade Required"),
        428 => Some((
            "Precondition Required",
            Rfc::Other("https://www.rfc-editor.org/rfc/rfc6585.html#section-3"),
        )),
        429 => {
            Some(("Too Many Requests", Rfc::Other("https://www.rfc-editor.org/rfc/rfc6585.html#section-4")))
        }
        431 => Some((
            "Request Header Fields Too Large",
            Rfc::Other("https://www.rfc-editor.org/rfc/rfc6585.html#section-5"),
        )),
        451 => Some((
            "Unavailable For Legal Reasons",
            Rfc::Other("https://www.rfc-editor.org/rfc/rfc7725.html#section-3"),
        )),
        500 => http("Internal Server Error"),
        501 => http("Not Implemented"),
        502 => http("Bad Gateway"),
        503 => http("Service Unavailable"),
        504 => http("Gateway Timeout"),
        505 => http("HTTP Version Not Supported"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_link_to_the_rfc_that_defines_them() {
        assert_eq!(reason(404), "Not Found");
        assert_eq!(rfc_url(404).unwrap(), "https://www.rfc-editor.org/rfc/rfc9110.html#status.404");
        assert!(rfc_url(429).unwrap().contains("rfc6585"));
        assert_eq!(rfc_url(299), None);
    }
}
