//! Both sides of a history: results, range and filter translations, picks resolved and the SQL helpers.

use super::*;

/// The value of a step, in creation indexes.
#[derive(Debug, PartialEq)]
pub enum Out {
    Unit,
    Index(usize),
    Indexes(Vec<usize>),
    Count(usize),
    Maybe(Option<usize>),
    /// A range read and its count.
    Listed(Vec<usize>, usize),
    /// Rows deleted per table (member, book, loan, fine).
    Deleted([usize; 4]),
    Upserted(usize, bool),
}

pub(super) fn rel_class(e: Error) -> Class {
    match e {
        Error::NotFound { .. } => Class::NotFound,
        Error::ForeignKey { .. } => Class::ForeignKey,
        Error::Unique { .. } => Class::Unique,
        Error::Restricted { .. } => Class::Restricted,
        other => panic!("unexpected relata error: {other}"),
    }
}

/// Whether a set-based update's outcome depends on the order its rows are checked in: some
/// row takes a (non-null) key that another row of the same update gives up. `rows`: each
/// selected row's key before and after.
pub fn order_dependent<K: PartialEq>(rows: &[(Option<K>, Option<K>)]) -> bool {
    rows.iter().enumerate().any(|(a, (old_a, new_a))| {
        new_a.is_some()
            && new_a != old_a
            && rows
                .iter()
                .enumerate()
                .any(|(b, (old_b, new_b))| a != b && old_b == new_a && new_b != old_b)
    })
}

/// The results to compare: as they are, or, where the two engines report different classes
/// for the same failure (`fails_twice`), only that both failed.
pub(super) fn settle(fails_twice: bool, got: R<Out>, want: R<Out>) -> (R<Out>, R<Out>) {
    match (fails_twice, &got, &want) {
        (true, Err(_), Err(_)) => (Err(Class::ForeignKey), Err(Class::ForeignKey)),
        _ => (got, want),
    }
}

/// A bound's value for SQL: one value, or a row value of two.
type SqlBound = Bound<Vec<Value>>;
/// A range for relata, and the same range for SQL.
type Ranges<K> = ((Bound<K>, Bound<K>), (SqlBound, SqlBound));

/// `col` within (`lo`, `hi`), appending the parameters to `args`.
pub(super) fn cond(col: &str, lo: &SqlBound, hi: &SqlBound, args: &mut Vec<Value>) -> String {
    let mut place = |vals: &Vec<Value>| -> String {
        let names: Vec<String> = vals
            .iter()
            .map(|v| {
                args.push(v.clone());
                format!("?{}", args.len())
            })
            .collect();
        if names.len() == 1 {
            names[0].clone()
        } else {
            format!("({})", names.join(", "))
        }
    };
    let mut parts = Vec::new();
    match lo {
        Bound::Included(v) => parts.push(format!("{col} >= {}", place(v))),
        Bound::Excluded(v) => parts.push(format!("{col} > {}", place(v))),
        Bound::Unbounded => {}
    }
    match hi {
        Bound::Included(v) => parts.push(format!("{col} <= {}", place(v))),
        Bound::Excluded(v) => parts.push(format!("{col} < {}", place(v))),
        Bound::Unbounded => {}
    }
    if parts.is_empty() {
        "1".to_string()
    } else {
        parts.join(" AND ")
    }
}

pub(super) fn bound<X>(b: &Bd, key: X) -> Bound<X> {
    match b.kind {
        Bk::Unbounded => Bound::Unbounded,
        Bk::Included => Bound::Included(key),
        Bk::Excluded => Bound::Excluded(key),
    }
}

fn title_of(b: &Bd) -> &'static str {
    TITLE_BOUNDS[b.v.rem_euclid(TITLE_BOUNDS.len() as i64) as usize]
}

/// A resolved [`Where`]: picks as creation indexes.
#[derive(Clone, Copy)]
pub(super) enum W {
    All,
    DueBelow(i64),
    Returned(bool),
    OfMember(usize),
    OfBook(usize),
    Before(usize),
}

/// A resolved [`Set`].
#[derive(Clone, Copy)]
pub(super) enum S {
    Due(i64),
    Shift(i64),
    Returned(bool),
    Toggle,
    Book(usize),
}

pub(super) struct Both {
    pub(super) rel: Rel,
    pub(super) sql: Sql,
}

impl Both {
    fn pick<T: relata::Model>(&self, table: Table<T>, name: &str, p: Pick) -> Option<usize> {
        let live = self.rel.ids.live(&self.rel.db, table);
        choose(p, &live, self.sql.ids[name].len())
    }

    pub(super) fn member(&self, p: Pick) -> Option<usize> {
        self.pick(self.rel.members, "member", p)
    }
    pub(super) fn book(&self, p: Pick) -> Option<usize> {
        self.pick(self.rel.books, "book", p)
    }
    pub(super) fn loan(&self, p: Pick) -> Option<usize> {
        self.pick(self.rel.loans, "loan", p)
    }

    pub(super) fn resolve_where(&self, w: Where) -> Option<W> {
        Some(match w {
            Where::All => W::All,
            Where::DueBelow(x) => W::DueBelow(x),
            Where::Returned(b) => W::Returned(b),
            Where::OfMember(p) => W::OfMember(self.member(p)?),
            Where::OfBook(p) => W::OfBook(self.book(p)?),
            Where::Before(p) => W::Before(self.loan(p)?),
        })
    }

    pub(super) fn resolve_set(&self, s: Set) -> Option<S> {
        Some(match s {
            Set::Due(x) => S::Due(x),
            Set::Shift(d) => S::Shift(d),
            Set::Returned(b) => S::Returned(b),
            Set::Toggle => S::Toggle,
            Set::Book(p) => S::Book(self.book(p)?),
        })
    }

    /// `w` as a relata filter.
    pub(super) fn filter(ids: &Issued, w: W) -> impl Fn(&Row<'_, Loan>) -> bool + '_ {
        move |row| match w {
            W::All => true,
            W::DueBelow(x) => row.due_on < x,
            W::Returned(b) => row.returned == b,
            W::OfMember(m) => row.member == ids.id(m),
            W::OfBook(b) => row.book == ids.id(b),
            W::Before(l) => row.id() < ids.id::<Loan>(l),
        }
    }

    /// The loans `w` selects, in creation order.
    pub(super) fn selected(&self, w: W) -> Vec<Id<Loan>> {
        let passes = Self::filter(&self.rel.ids, w);
        let rows = self.rel.loans.iter(&self.rel.db).unwrap();
        rows.filter(|row| passes(row)).map(|row| row.id()).collect()
    }

    /// `w` in SQL, appending its parameters.
    pub(super) fn where_sql(&self, w: W, args: &mut Vec<Value>) -> String {
        let mut arg = |v: i64| {
            args.push(Value::Integer(v));
            format!("?{}", args.len())
        };
        match w {
            W::All => "1".to_string(),
            W::DueBelow(x) => format!("due_on < {}", arg(x)),
            W::Returned(b) => format!("returned = {}", arg(i64::from(b))),
            W::OfMember(m) => format!("member = {}", arg(self.sql.id("member", m))),
            W::OfBook(b) => format!("book = {}", arg(self.sql.id("book", b))),
            W::Before(l) => format!("id < {}", arg(self.sql.id("loan", l))),
        }
    }

    pub(super) fn apply(ids: &Issued, s: S, l: &mut Loan) {
        match s {
            S::Due(x) => l.due_on = x,
            S::Shift(d) => l.due_on += d,
            S::Returned(b) => l.returned = b,
            S::Toggle => l.returned = !l.returned,
            S::Book(b) => l.book = ids.id(b),
        }
    }

    pub(super) fn set_sql(&self, s: S, args: &mut Vec<Value>) -> String {
        let mut arg = |v: i64| {
            args.push(Value::Integer(v));
            format!("?{}", args.len())
        };
        match s {
            S::Due(x) => format!("due_on = {}", arg(x)),
            S::Shift(d) => format!("due_on = due_on + {}", arg(d)),
            S::Returned(b) => format!("returned = {}", arg(i64::from(b))),
            S::Toggle => "returned = 1 - returned".to_string(),
            S::Book(b) => format!("book = {}", arg(self.sql.id("book", b))),
        }
    }

    /// Whether updating the loans `selected` with `s` depends on the order (see
    /// [`order_dependent`]).
    pub(super) fn loans_order_dependent(&self, selected: &[Id<Loan>], s: S) -> bool {
        let (db, ids) = (&self.rel.db, &self.rel.ids);
        let keys: Vec<_> = selected
            .iter()
            .map(|&id| {
                let old = self.rel.loans.get(db, id).unwrap().value().clone();
                let mut new = old.clone();
                Self::apply(ids, s, &mut new);
                let key = |l: &Loan| (!l.returned).then_some(l.book);
                (key(&old), key(&new))
            })
            .collect();
        order_dependent(&keys)
    }

    /// Whether updating the loans `selected` with `s` breaks a foreign key and a unique key
    /// at once: two or more active loans moved to a book that does not exist. SQLite reports
    /// the unique key (it checks foreign keys when the statement ends), relata the foreign key
    /// of the first row (it checks each row in turn): both must fail, and change nothing.
    pub(super) fn fails_twice(&self, selected: &[Id<Loan>], s: S) -> bool {
        let S::Book(b) = s else {
            return false;
        };
        let (db, ids) = (&self.rel.db, &self.rel.ids);
        let dead = !self.rel.books.contains(db, ids.id::<Book>(b)).unwrap();
        let active = selected
            .iter()
            .filter(|&&id| !self.rel.loans.get(db, id).unwrap().returned)
            .count();
        dead && active >= 2
    }

    /// Rows per table (member, book, loan, fine) in SQLite.
    fn sql_counts(&self) -> [usize; 4] {
        ["member", "book", "loan", "fine"].map(|t| {
            let n: i64 = self
                .sql
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            n as usize
        })
    }

    pub(super) fn deleted(&self, report: &Report) -> [usize; 4] {
        let r = &self.rel;
        [
            report.deleted_in(r.members).len(),
            report.deleted_in(r.books).len(),
            report.deleted_in(r.loans).len(),
            report.deleted_in(r.fines).len(),
        ]
    }

    /// A DELETE statement, and the rows it removed from each table.
    pub(super) fn sql_delete(&mut self, statement: &str, args: Vec<Value>) -> R<Out> {
        let before = self.sql_counts();
        self.sql
            .atomic(true, |c| c.execute(statement, params_from_iter(args)))?;
        let after = self.sql_counts();
        Ok(Out::Deleted([0, 1, 2, 3].map(|t| before[t] - after[t])))
    }

    pub(super) fn sql_update(&mut self, statement: &str, args: Vec<Value>) -> R<Out> {
        self.sql
            .atomic(false, |c| c.execute(statement, params_from_iter(args)))
            .map(Out::Count)
    }

    /// `SELECT id …` as creation indexes of `table`.
    pub(super) fn sql_ids(&self, table: &str, statement: &str, args: Vec<Value>) -> Vec<usize> {
        let mut st = self.sql.conn.prepare(statement).unwrap();
        let ids: Vec<i64> = st
            .query_map(params_from_iter(args), |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        ids.into_iter()
            .map(|id| self.sql.index(table, id))
            .collect()
    }

    pub(super) fn sql_count(&self, statement: &str, args: Vec<Value>) -> usize {
        let n: i64 = self
            .sql
            .conn
            .query_row(statement, params_from_iter(args), |r| r.get(0))
            .unwrap();
        n as usize
    }

    /// The due-date range of two bounds: relata's and SQL's.
    pub(super) fn due_range(lo: &Bd, hi: &Bd) -> Ranges<i64> {
        let sql = |b: &Bd| bound(b, vec![Value::Integer(b.v)]);
        ((bound(lo, lo.v), bound(hi, hi.v)), (sql(lo), sql(hi)))
    }

    /// The `(member, due_on)` range of two bounds, or `None` if no member was ever issued.
    pub(super) fn member_due_range(&self, lo: &Bd, hi: &Bd) -> Option<Ranges<(Id<Member>, i64)>> {
        let (m_lo, m_hi) = (self.member(lo.p)?, self.member(hi.p)?);
        let ids = &self.rel.ids;
        let rel = (
            bound(lo, (ids.id(m_lo), lo.v)),
            bound(hi, (ids.id(m_hi), hi.v)),
        );
        let sql = |b: &Bd, m: usize| {
            bound(
                b,
                vec![
                    Value::Integer(self.sql.id("member", m)),
                    Value::Integer(b.v),
                ],
            )
        };
        Some((rel, (sql(lo, m_lo), sql(hi, m_hi))))
    }

    /// The book-id range of two bounds, or `None` if no book was ever issued.
    pub(super) fn book_range(&self, lo: &Bd, hi: &Bd) -> Option<Ranges<Id<Book>>> {
        let (b_lo, b_hi) = (self.book(lo.p)?, self.book(hi.p)?);
        let ids = &self.rel.ids;
        let rel = (bound(lo, ids.id(b_lo)), bound(hi, ids.id(b_hi)));
        let sql = |b: &Bd, i: usize| bound(b, vec![Value::Integer(self.sql.id("book", i))]);
        Some((rel, (sql(lo, b_lo), sql(hi, b_hi))))
    }

    pub(super) fn title_range(lo: &Bd, hi: &Bd) -> Ranges<&'static str> {
        let sql = |b: &Bd| bound(b, vec![Value::Text(title_of(b).to_string())]);
        (
            (bound(lo, title_of(lo)), bound(hi, title_of(hi))),
            (sql(lo), sql(hi)),
        )
    }

    pub(super) fn ids_of<T: 'static>(&self, rows: impl Iterator<Item = Id<T>>) -> Vec<usize> {
        rows.map(|id| self.rel.ids.of(id)).collect()
    }

    pub(super) fn rel_ids<'a>(&self, rows: impl Iterator<Item = Row<'a, Loan>>) -> Vec<Id<Loan>> {
        rows.map(|r| r.id()).collect()
    }

    /// An upsert statement; `holder` finds the row holding the key afterwards. Returns its
    /// creation index and whether it is new.
    pub(super) fn sql_upsert(
        &mut self,
        table: &'static str,
        statement: &str,
        args: Vec<Value>,
        holder: &str,
        key: Vec<Value>,
    ) -> R<Out> {
        let find = |c: &rusqlite::Connection| -> rusqlite::Result<Option<i64>> {
            c.query_row(holder, params_from_iter(key.clone()), |r| r.get(0))
                .optional()
        };
        let before = find(&self.sql.conn).unwrap();
        let id = self.sql.atomic(false, |c| {
            c.execute(statement, params_from_iter(args))?;
            Ok(find(c)?.expect("the key is held"))
        })?;
        match before {
            Some(old) => {
                assert_eq!(old, id, "an upsert keeps the holder");
                Ok(Out::Upserted(self.sql.index(table, id), false))
            }
            None => {
                let list = self.sql.ids.get_mut(table).unwrap();
                list.push(id);
                Ok(Out::Upserted(list.len() - 1, true))
            }
        }
    }
}
