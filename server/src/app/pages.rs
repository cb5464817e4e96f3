//! A listing's pages, the same for every resource: what a caller asks for (a filter, where to go
//! on from, how many) and what it gets back (the items, and where the next page goes on from).
//! The application reads one item past the page to know whether a next one exists.

use uuid::Uuid;

/// One page of a listing, as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest<F> {
    /// The listing's filters: the same on every page, carried from each page to the next.
    pub filter: F,
    /// Go on after this item (the previous page's last); from the start when `None`.
    pub after: Option<Uuid>,
    /// The most items the page holds.
    pub limit: u32,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page goes on from (this page's last item), if there is a next page.
    pub next_after: Option<Uuid>,
}

impl<T> Page<T> {
    /// The page made of what a read of `limit + 1` items found: the one past the limit only says
    /// that a next page exists.
    pub(super) fn of(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> Uuid) -> Self {
        let limit = limit as usize;
        let more = items.len() > limit;
        items.truncate(limit);
        let next_after = more.then(|| items.last().map(id)).flatten();
        Page { items, next_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_says_where_the_next_goes_on_only_when_one_more_item_was_found() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let full = Page::of(ids.clone(), 2, |id| *id);
        assert_eq!((full.items.len(), full.next_after), (2, Some(ids[1])));
        let last = Page::of(ids[..2].to_vec(), 2, |id| *id);
        assert_eq!((last.items.len(), last.next_after), (2, None));
    }
}
