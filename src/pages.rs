//! Streams over every page of a listing, following `_links.next`: any listing's builder is a
//! [`PagedRequest`] over its [`ListPage`]; a key listing's also streams its keys.

use std::future::Future;

use futures::{
    StreamExt, TryStreamExt,
    stream::{self, BoxStream},
};
use reqwest::Url;

use crate::{
    Error, ResponseValue, builder,
    types::{ApiKey, ApiKeyList, ApiKeySummary, Problem},
};

/// A page of any listing: the one thing paging needs of it, its link to the next page.
pub trait ListPage {
    /// The `_links.next` of the page, or `None` on the last page.
    fn next_href(&self) -> Option<&str>;

    /// The `page_token` of the next page, or `None` on the last page (or if the `next` link
    /// carries no `page_token`).
    fn next_page_token(&self) -> Option<String> {
        self.next_href().and_then(page_token)
    }
}

impl ListPage for ApiKeyList {
    fn next_href(&self) -> Option<&str> {
        self.links.next.as_ref().map(|next| next.href.as_str())
    }
}

/// A list request that can be repeated for another page: every listing's builder.
pub trait PagedRequest<'a>: Clone + Send + 'a {
    /// The listing's page.
    type Page: ListPage + Send + 'a;
    fn with_page_token(self, token: String) -> Self;
    fn fetch(self) -> impl Future<Output = Result<ResponseValue<Self::Page>, Error<Problem>>> + Send + 'a;

    /// Every page of the listing, from this request's filters onwards: sends it, then the same
    /// request with each next page's token, until a page has no `next` link.
    fn pages(self) -> BoxStream<'a, Result<Self::Page, Error<Problem>>> {
        stream::try_unfold(Some(self), |request| async move {
            let Some(request) = request else {
                return Ok(None);
            };
            let page = request.clone().fetch().await?.into_inner();
            let next = match page.next_href() {
                None => None,
                Some(href) => match page_token(href) {
                    Some(token) => Some(request.with_page_token(token)),
                    None => {
                        return Err(Error::Custom(format!("the next page's link has no page_token: {href}")));
                    }
                },
            };
            Ok(Some((page, next)))
        })
        .boxed()
    }
}

/// A key listing's builder as a [`PagedRequest`], with its streams of keys.
macro_rules! key_listing {
    ($builder:ty) => {
        impl<'a> PagedRequest<'a> for $builder {
            type Page = ApiKeyList;

            fn with_page_token(self, token: String) -> Self {
                self.page_token(token)
            }

            fn fetch(
                self,
            ) -> impl Future<Output = Result<ResponseValue<ApiKeyList>, Error<Problem>>> + Send + 'a {
                self.send()
            }
        }

        impl<'a> $builder {
            /// Every key of the listing as a summary (`id`, `name`, `_links`), across all pages.
            pub fn stream(self) -> BoxStream<'a, Result<ApiKeySummary, Error<Problem>>> {
                summaries(self.pages())
            }

            /// Every key of the listing in full (redacted), across all pages; sets `_embed=true`.
            pub fn stream_embedded(self) -> BoxStream<'a, Result<ApiKey, Error<Problem>>> {
                embedded(self.embed(true).pages())
            }
        }
    };
}

key_listing!(builder::ApiKeyList<'a>);
key_listing!(builder::UserApiKeyList<'a>);

fn summaries<'a>(
    pages: BoxStream<'a, Result<ApiKeyList, Error<Problem>>>,
) -> BoxStream<'a, Result<ApiKeySummary, Error<Problem>>> {
    pages.map_ok(|page| stream::iter(page.api_keys.into_iter().map(Ok))).try_flatten().boxed()
}

fn embedded<'a>(
    pages: BoxStream<'a, Result<ApiKeyList, Error<Problem>>>,
) -> BoxStream<'a, Result<ApiKey, Error<Problem>>> {
    pages
        .map_ok(|page| {
            let keys = page.embedded.map(|e| e.api_keys).unwrap_or_default();
            stream::iter(keys.into_iter().map(Ok))
        })
        .try_flatten()
        .boxed()
}

/// The `page_token` query parameter of `href`, a path such as
/// `/v1/api_keys?limit=20&page_token=abc` or a full URL.
fn page_token(href: &str) -> Option<String> {
    let base = Url::parse("http://keyward.invalid/").expect("the base URL is valid");
    let url = base.join(href).ok()?;
    url.query_pairs()
        .find(|(name, _)| name == "page_token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Link, Links};

    #[test]
    fn page_token_is_read_wherever_it_stands_percent_decoded_and_by_its_own_name_alone() {
        for (link, token) in [
            // From a path with a query.
            ("/v1/api_keys?limit=20&page_token=abc", "abc"),
            // When it comes first.
            ("/v1/users/u1/api_keys?page_token=a-b_C9&limit=5", "a-b_C9"),
            // From a full URL.
            ("https://keys.example.com/v1/api_keys?page_token=xyz", "xyz"),
            // Percent-decoded.
            ("/v1/api_keys?page_token=a%2Db", "a-b"),
            // Not from a fragment or a similar name.
            ("/v1/api_keys?my_page_token=no&page_token=yes#page_token=frag", "yes"),
        ] {
            assert_eq!(page_token(link).as_deref(), Some(token), "{link}");
        }
    }

    #[test]
    fn page_token_is_none_without_one() {
        assert_eq!(page_token("/v1/api_keys?limit=20"), None);
        assert_eq!(page_token("/v1/api_keys"), None);
        assert_eq!(page_token("/v1/api_keys?page_token="), None);
    }

    #[test]
    fn next_page_token_is_none_on_the_last_page() {
        let links = |next: Option<&str>| Links {
            self_: Link { href: "/v1/api_keys".into() },
            next: next.map(|href| Link { href: href.into() }),
        };
        let page = |next| ApiKeyList { api_keys: Vec::new(), embedded: None, links: links(next) };
        assert_eq!(page(None).next_page_token(), None);
        assert_eq!(page(Some("/v1/api_keys?page_token=p2")).next_page_token().as_deref(), Some("p2"));
    }
}
