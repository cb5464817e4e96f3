//! The one path every listing takes: the first page or every page, printed, and on stderr how to get the next.

use futures::{StreamExt, stream::BoxStream};
use keyward::{Error, ListPage, types::Problem};
use serde::Serialize;

use crate::Context;
use crate::output;
use crate::report::Failure;

/// A page of a listing, as the SDK streams them (its [`ListPage`]: the page after it), and the
/// items it holds.
pub trait Page: ListPage {
    /// What the listing lists.
    type Item: Serialize;

    /// The page's items, in order.
    fn into_items(self) -> Vec<Self::Item>;
}

/// Prints the items of the first page, or of every page with `all`, each laid out by `rows`
/// for people; with more pages left, says on stderr how to get them (`more NOUN: …`).
pub async fn print<P: Page>(
    context: &Context,
    mut pages: BoxStream<'_, Result<P, Error<Problem>>>,
    all: bool,
    noun: &str,
    rows: impl FnOnce(&[P::Item]) -> String,
) -> Result<(), Failure> {
    let mut items: Vec<P::Item> = Vec::new();
    let mut next = None;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => return Err(Failure::api(e, &context.url).await),
        };
        next = page.next_page_token();
        items.extend(page.into_items());
        if !all {
            break;
        }
    }
    context.print(&items, || rows(&items));
    if let Some(token) = next.filter(|_| !all) {
        output::write_stderr_line(&format!(
            "more {noun}: run again with --page-token {token}, or with --all"
        ));
    }
    Ok(())
}
