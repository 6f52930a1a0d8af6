//! Results, failure classes and deliberate panics, and the dumps relata and the reference are compared by.

use super::*;

pub(super) fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        Error::Restricted { .. } => Fail::Restricted,
        other => panic!("unexpected error class: {other}"),
    }
}

/// The marker of every deliberate panic.
const BOOM: &str = "deliberate panic";

pub(super) fn boom_now() -> ! {
    std::panic::panic_any(BOOM)
}

/// Runs `f`; a deliberate panic is `Fail::Panicked`, any other goes on.
pub(super) fn catching<T>(f: impl FnOnce() -> Res<T>) -> Res<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(out) => out,
        Err(payload) if payload.downcast_ref::<&str>() == Some(&BOOM) => Err(Fail::Panicked),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Keeps deliberate panics out of the test output; everything else goes to the default hook.
pub(super) fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&BOOM) {
                default(info);
            }
        }));
    });
}

/// A closure's call counter that panics on call `at`.
pub(super) struct Fuse {
    calls: Cell<usize>,
    pub(super) at: Option<usize>,
}

impl Fuse {
    pub(super) fn new(at: Option<usize>) -> Self {
        Fuse {
            calls: Cell::new(0),
            at,
        }
    }
    pub(super) fn tick(&self) {
        let k = self.calls.get();
        self.calls.set(k + 1);
        if self.at == Some(k) {
            boom_now();
        }
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Out {
    Unit,
    Index(usize),
    Indexes(Vec<usize>),
    Count(usize),
    Old(R),
    Removed(R, Deleted),
    Deleted(Deleted),
    Upserted(usize, bool),
}

/// Everything observable in a database, rows by creation index.
#[derive(Debug, PartialEq)]
pub(super) struct Dump {
    pub(super) rows: [Vec<(usize, R)>; TABLES],
    /// (0: member's loans, 1: book's loans, 2: book's reviews; source; `get`; `count`).
    pub(super) children: Vec<(usize, usize, Vec<usize>, usize)>,
    /// (loan; its member and book through the inverse `BelongsTo`).
    pub(super) parents: Vec<(usize, Option<usize>, Option<usize>)>,
    /// (review; its book through the inverse `BelongsTo`).
    pub(super) reviewed: Vec<(usize, Option<usize>)>,
    /// Per index: `iter`, and `count_range(..)`.
    pub(super) indexes: Vec<(Ix, Vec<usize>, usize)>,
    /// Per probe key: `find`, and `count`.
    pub(super) finds: Vec<(Ix, K, Vec<usize>, usize)>,
}

/// The keys every dump looks up, for the state `model` is in.
pub(super) fn probes(model: &Lending) -> Vec<(Ix, K)> {
    let mut out = Vec::new();
    for ix in [Ix::Due, Ix::ActiveDue] {
        out.extend((0..DUE + 2).map(|v| (ix, K::N(v))));
    }
    let mut pairs: BTreeSet<K> = model
        .index(Ix::MemberDue)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for m in 0..model.rows(MEMBER).len() {
        pairs.insert(K::Pair(m, DUE + 1));
    }
    out.extend(pairs.into_iter().map(|k| (Ix::MemberDue, k)));
    out.extend((0..model.rows(BOOK).len()).map(|b| (Ix::Active, K::Row(b))));
    out.extend(
        TITLE_BOUNDS
            .iter()
            .map(|t| (Ix::Title, K::Text(t.to_string()))),
    );
    for branch in 0..=BRANCHES {
        out.extend((0..=CARDS).map(|card| (Ix::Card, K::Card(branch, card))));
    }
    out
}

/// The reference's dump.
pub(super) fn model_dump(model: &Lending, probes: &[(Ix, K)]) -> Dump {
    let rows: [Vec<(usize, R)>; TABLES] =
        [MEMBER, BOOK, LOAN, REVIEW].map(|t| model.live(t).map(|(i, r)| (i, r.clone())).collect());
    let mut children = Vec::new();
    for (a, t) in [(0, MEMBER), (1, BOOK)] {
        for (s, _) in model.live(t) {
            let loans = model.loans_of(t, s);
            let n = loans.len();
            children.push((a, s, loans, n));
            if t == BOOK {
                let reviews = model.reviews_of(s);
                let n = reviews.len();
                children.push((2, s, reviews, n));
            }
        }
    }
    let reviewed = model
        .live(REVIEW)
        .map(|(i, r)| {
            let title = &r.review().title;
            let book = model.live(BOOK).find(|(_, b)| &b.book().title == title);
            (i, book.map(|(b, _)| b))
        })
        .collect();
    let parents = model
        .live(LOAN)
        .map(|(i, r)| (i, Some(r.loan().member), Some(r.loan().book)))
        .collect();
    let indexes = INDEXES
        .iter()
        .map(|&ix| {
            let all: Vec<usize> = model.index(ix).into_iter().map(|(_, i)| i).collect();
            let n = all.len();
            (ix, all, n)
        })
        .collect();
    let finds = probes
        .iter()
        .map(|(ix, k)| {
            let found = model.find(*ix, k);
            let n = found.len();
            (*ix, k.clone(), found, n)
        })
        .collect();
    Dump {
        rows,
        children,
        parents,
        reviewed,
        indexes,
        finds,
    }
}

/// The key `k` as the index's key type, boxed in its borrowed form.
pub(super) fn n_of(k: &K) -> Box<u8> {
    match k {
        K::N(v) => Box::new(*v),
        other => panic!("not a due date: {other:?}"),
    }
}
pub(super) fn text_of(k: &K) -> Box<str> {
    match k {
        K::Text(s) => s.as_str().into(),
        other => panic!("not a title: {other:?}"),
    }
}
pub(super) fn card_of(k: &K) -> Box<(u8, u8)> {
    match k {
        K::Card(b, c) => Box::new((*b, *c)),
        other => panic!("not a card: {other:?}"),
    }
}

/// `range` with its keys boxed by `conv`.
pub(super) fn boxed<Q: ?Sized>(
    range: &Range,
    conv: &dyn Fn(&K) -> Box<Q>,
) -> (Bound<Box<Q>>, Bound<Box<Q>>) {
    (range.0.as_ref().map(conv), range.1.as_ref().map(conv))
}

/// A boxed range, borrowed.
pub(super) fn borrowed<Q: ?Sized>(
    range: &(Bound<Box<Q>>, Bound<Box<Q>>),
) -> (Bound<&Q>, Bound<&Q>) {
    (
        range.0.as_ref().map(|b| &**b),
        range.1.as_ref().map(|b| &**b),
    )
}

/// A [`QSpec`] as a relata query.
pub(super) fn query<'q, T: Tab>(q: &QSpec, ids: &'q Ids) -> Query<'q, T> {
    let mut query = Query::new();
    if let Some(f) = q.filter {
        query = query.filter(move |r: &Row<T>| f.eval(ix(ids, r.id()), &r.to_r(ids)));
    }
    if let Some(o) = q.order {
        query = query.order_by(move |a: &Row<T>, b: &Row<T>| match o {
            // Straight from the ids: they order by creation.
            Order::IdDesc => b.id().cmp(&a.id()),
            _ => o.cmp(
                (ix(ids, a.id()), &a.to_r(ids)),
                (ix(ids, b.id()), &b.to_r(ids)),
            ),
        });
    }
    if let Some(n) = q.limit {
        query = query.limit(n);
    }
    query.offset(q.offset)
}
