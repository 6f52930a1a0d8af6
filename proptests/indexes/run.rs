//! A history run against relata: picks resolved, dumps taken, and every read and write of an operation.

use super::*;

pub(super) struct Run {
    pub(super) s: Schema,
    pub(super) db: Db,
    pub(super) ids: Ids,
    pub(super) model: Lending,
}

impl Run {
    /// Resolves a pick against the reference: a live row usually, any issued one sometimes.
    pub(super) fn pick(&self, t: usize, p: Pick) -> Option<usize> {
        let rows = self.model.rows(t);
        if p.live {
            let live: Vec<usize> = self.model.live(t).map(|(i, _)| i).collect();
            if !live.is_empty() {
                return Some(live[p.n % live.len()]);
            }
        }
        (!rows.is_empty()).then(|| p.n % rows.len())
    }

    /// The table and reference row of a row spec; `None` if a foreign key cannot be named.
    pub(super) fn row(&self, spec: &RowSpec) -> Option<(usize, R)> {
        Some(match *spec {
            RowSpec::Member { branch, card, n } => (MEMBER, R::Member(RMember { branch, card, n })),
            RowSpec::Book { title, n } => (
                BOOK,
                R::Book(RBook {
                    title: TITLES[usize::from(title) % TITLES.len()].to_string(),
                    n,
                }),
            ),
            RowSpec::Review { title, n } => (
                REVIEW,
                R::Review(RReview {
                    title: TITLES[usize::from(title) % TITLES.len()].to_string(),
                    n,
                }),
            ),
            RowSpec::Loan {
                member,
                book,
                due_on,
                returned,
            } => (
                LOAN,
                R::Loan(RLoan {
                    member: self.pick(MEMBER, member)?,
                    book: self.pick(BOOK, book)?,
                    due_on,
                    returned,
                }),
            ),
        })
    }

    /// The key a bound names in index `ix`.
    pub(super) fn key(&self, ix: Ix, b: &B) -> Option<K> {
        let due = b.v % (DUE + 2);
        Some(match ix {
            Ix::Due | Ix::ActiveDue => K::N(due),
            Ix::MemberDue => K::Pair(self.pick(MEMBER, b.p)?, due),
            Ix::Active => K::Row(self.pick(BOOK, b.p)?),
            Ix::Title => K::Text(TITLE_BOUNDS[usize::from(b.v) % TITLE_BOUNDS.len()].to_string()),
            Ix::Card => {
                let at = b.v % ((BRANCHES + 1) * (CARDS + 1));
                K::Card(at / (CARDS + 1), at % (CARDS + 1))
            }
        })
    }

    fn bound(&self, ix: Ix, b: &B) -> Option<Bound<K>> {
        Some(match b.kind {
            Bk::Unbounded => Bound::Unbounded,
            Bk::Included => Bound::Included(self.key(ix, b)?),
            Bk::Excluded => Bound::Excluded(self.key(ix, b)?),
        })
    }

    pub(super) fn range(&self, ix: Ix, lo: &B, hi: &B) -> Option<Range> {
        Some((self.bound(ix, lo)?, self.bound(ix, hi)?))
    }

    pub(super) fn change(&self, t: usize, c: ChangeSpec) -> Option<Change> {
        Some(match c {
            ChangeSpec::Shift(d) => Change::Shift(d),
            ChangeSpec::Set(x) => Change::Set(x),
            ChangeSpec::Flag(b) => Change::Flag(b),
            ChangeSpec::Toggle => Change::Toggle,
            ChangeSpec::Ref(p) if t == LOAN => Change::Ref(self.pick(BOOK, p)?),
            ChangeSpec::Other(p) if t == LOAN => Change::Other(self.pick(MEMBER, p)?),
            ChangeSpec::Ref(p) | ChangeSpec::Other(p) => Change::Ref(p.n % 256),
        })
    }

    /// Table `t`'s live rows in storage order (`scan`), by creation index.
    pub(super) fn scan<T: Tab>(&self, db: &Db) -> Vec<usize> {
        T::table(&self.s)
            .scan(db)
            .unwrap()
            .map(|r| ix(&self.ids, r.id()))
            .collect()
    }

    pub(super) fn scan_of(&self, t: usize, db: &Db) -> Vec<usize> {
        match t {
            MEMBER => self.scan::<Member>(db),
            BOOK => self.scan::<Book>(db),
            LOAN => self.scan::<Loan>(db),
            _ => self.scan::<Review>(db),
        }
    }

    fn deleted(&self, report: &Report, root: usize) -> Deleted {
        let s = &self.s;
        let ids = &self.ids;
        fn list<T: Tab>(report: &Report, table: Table<T>, ids: &Ids) -> Vec<usize> {
            report
                .deleted_in(table)
                .into_iter()
                .map(|id| {
                    assert!(report.was_deleted(id), "{id} is listed but not flagged");
                    ix(ids, id)
                })
                .collect()
        }
        let lists = [
            list(report, s.members, ids),
            list(report, s.books, ids),
            list(report, s.loans, ids),
            list(report, s.reviews, ids),
        ];
        assert_eq!(
            report.total_deleted(),
            lists.iter().map(Vec::len).sum::<usize>()
        );
        assert_eq!(report.total_nulled(), 0, "no foreign key is nullable");
        let roots = lists[root].clone();
        let all = lists.map(|mut v| {
            v.sort_unstable();
            v
        });
        Deleted { roots, all }
    }

    fn table_dump<T: Tab>(&self, db: &Db) -> Vec<(usize, R)> {
        let table = T::table(&self.s);
        let rows: Vec<(usize, R)> = table
            .iter(db)
            .unwrap()
            .map(|r| (ix(&self.ids, r.id()), r.to_r(&self.ids)))
            .collect();
        assert_eq!(table.len(db).unwrap(), rows.len(), "len");
        assert_eq!(table.is_empty(db).unwrap(), rows.is_empty(), "is_empty");
        let mut scanned = self.scan::<T>(db);
        scanned.sort_unstable();
        let listed: Vec<usize> = rows.iter().map(|(i, _)| *i).collect();
        assert_eq!(scanned, listed, "scan visits the rows iter lists");
        for (i, &id) in T::ids(&self.ids).iter().enumerate() {
            assert_eq!(
                table.contains(db, id).unwrap(),
                listed.binary_search(&i).is_ok(),
                "contains({id})"
            );
        }
        rows
    }

    /// Everything observable in `db`, read through relata, and `find` for every probe key.
    pub(super) fn dump(&self, db: &Db, probes: &[(Ix, K)]) -> Dump {
        let (s, ids) = (&self.s, &self.ids);
        let rows = [
            self.table_dump::<Member>(db),
            self.table_dump::<Book>(db),
            self.table_dump::<Loan>(db),
            self.table_dump::<Review>(db),
        ];
        let mut children = Vec::new();
        for &(m, _) in &rows[MEMBER] {
            let got = s.member_loans.get(db, ids.members[m]).unwrap();
            let got: Vec<usize> = got.map(|r| ix(ids, r.id())).collect();
            let n = s.member_loans.count(db, ids.members[m]).unwrap();
            children.push((0, m, got, n));
        }
        for &(b, _) in &rows[BOOK] {
            let got = s.book_loans.get(db, ids.books[b]).unwrap();
            let got: Vec<usize> = got.map(|r| ix(ids, r.id())).collect();
            let n = s.book_loans.count(db, ids.books[b]).unwrap();
            children.push((1, b, got, n));
            let got = s.book_reviews.get(db, ids.books[b]).unwrap();
            let got: Vec<usize> = got.map(|r| ix(ids, r.id())).collect();
            let n = s.book_reviews.count(db, ids.books[b]).unwrap();
            children.push((2, b, got, n));
        }
        let reviewed = rows[REVIEW]
            .iter()
            .map(|&(r, _)| {
                let book = s.book_reviews.inverse().get(db, ids.reviews[r]).unwrap();
                (r, book.map(|b| ix(ids, b.id())))
            })
            .collect();
        let parents = rows[LOAN]
            .iter()
            .map(|&(l, _)| {
                let id = ids.loans[l];
                let member = s.member_loans.inverse().get(db, id).unwrap();
                let book = s.book_loans.inverse().get(db, id).unwrap();
                (
                    l,
                    member.map(|r| ix(ids, r.id())),
                    book.map(|r| ix(ids, r.id())),
                )
            })
            .collect();
        let everything = (Bound::Unbounded, Bound::Unbounded);
        let indexes = INDEXES
            .iter()
            .map(|&i| {
                let (all, n) = match i {
                    Ix::Due => self.all(db, &s.due, &everything, &n_of),
                    Ix::MemberDue => self.all(db, &s.member_due, &everything, &|k| self.pair_of(k)),
                    Ix::Active => self.all(db, &s.active, &everything, &|k| self.book_of(k)),
                    Ix::ActiveDue => self.all(db, &s.active_due, &everything, &n_of),
                    Ix::Title => self.all(db, &s.title, &everything, &text_of),
                    Ix::Card => self.all(db, &s.card, &everything, &card_of),
                };
                (i, all, n)
            })
            .collect();
        let finds = probes
            .iter()
            .map(|(i, k)| {
                let (found, n) = match i {
                    Ix::Due => self.find(db, &s.due, k, &n_of),
                    Ix::MemberDue => self.find(db, &s.member_due, k, &|k| self.pair_of(k)),
                    Ix::Active => self.find(db, &s.active, k, &|k| self.book_of(k)),
                    Ix::ActiveDue => self.find(db, &s.active_due, k, &n_of),
                    Ix::Title => {
                        let found = self.find(db, &s.title, k, &text_of);
                        // By `&String` as well as by `&str`.
                        let K::Text(title) = k else { unreachable!() };
                        let by_string = s.title.find(db, title).unwrap().map(|r| ix(ids, r.id()));
                        assert_eq!(by_string.into_iter().collect::<Vec<_>>(), found.0);
                        found
                    }
                    Ix::Card => self.find(db, &s.card, k, &card_of),
                };
                (*i, k.clone(), found, n)
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

    fn pair_of(&self, k: &K) -> Box<(Id<Member>, u8)> {
        match k {
            K::Pair(m, d) => Box::new((self.ids.members[*m], *d)),
            other => panic!("not a member and due date: {other:?}"),
        }
    }

    fn book_of(&self, k: &K) -> Box<Id<Book>> {
        match k {
            K::Row(b) => Box::new(self.ids.books[*b]),
            other => panic!("not a book: {other:?}"),
        }
    }

    fn indexes<T: Tab>(&self, ids: Vec<Id<T>>) -> Vec<usize> {
        ids.into_iter().map(|id| ix(&self.ids, id)).collect()
    }

    /// `iter` and `count_range` of `range` (everything).
    fn all<T: Tab, Q: Ord + ?Sized>(
        &self,
        db: &Db,
        h: &impl Lookup<T, Q>,
        range: &Range,
        conv: &dyn Fn(&K) -> Box<Q>,
    ) -> (Vec<usize>, usize) {
        let range = boxed(range, conv);
        let all = self.indexes(h.all_ids(db));
        assert_eq!(
            self.indexes(h.range_ids(db, borrowed(&range))),
            all,
            "range(..) == iter()"
        );
        (all, h.count_in(db, borrowed(&range)))
    }

    pub(super) fn find<T: Tab, Q: Ord + ?Sized>(
        &self,
        db: &Db,
        h: &impl Lookup<T, Q>,
        k: &K,
        conv: &dyn Fn(&K) -> Box<Q>,
    ) -> (Vec<usize>, usize) {
        let key = conv(k);
        (self.indexes(h.find_ids(db, &key)), h.count_of(db, &key))
    }

    /// An index read: relata's answer and the reference's.
    pub(super) fn read<T: Tab, Q: Ord + ?Sized>(
        &self,
        h: &impl Lookup<T, Q>,
        ix: Ix,
        conv: &dyn Fn(&K) -> Box<Q>,
        read: Read,
        key: &K,
        range: &Range,
    ) -> (Out, Out) {
        let db = &self.db;
        let (m, t) = (&self.model, ix.table());
        let b = boxed(range, conv);
        match read {
            Read::Find => (
                Out::Indexes(self.indexes(h.find_ids(db, &conv(key)))),
                Out::Indexes(m.find(ix, key)),
            ),
            Read::Count => (
                Out::Count(h.count_of(db, &conv(key))),
                Out::Count(m.find(ix, key).len()),
            ),
            Read::Range => (
                Out::Indexes(self.indexes(h.range_ids(db, borrowed(&b)))),
                Out::Indexes(m.range(ix, range)),
            ),
            Read::CountRange => (
                Out::Count(h.count_in(db, borrowed(&b))),
                Out::Count(m.range(ix, range).len()),
            ),
            Read::Iter => (
                Out::Indexes(self.indexes(h.all_ids(db))),
                Out::Indexes(m.index(ix).into_iter().map(|(_, i)| i).collect()),
            ),
            Read::Query(q) => {
                let got = h.query_ids(db, borrowed(&b), &query(&q, &self.ids));
                let want = q.apply(m.with_rows(t, &m.range(ix, range)));
                (Out::Indexes(self.indexes(got)), Out::Indexes(want))
            }
        }
    }

    /// `modify_range` through `h`: relata's result (the reference's is the caller's).
    pub(super) fn modify_range<T: Tab, Q: Ord + ?Sized>(
        &mut self,
        h: &impl Lookup<T, Q>,
        conv: &dyn Fn(&K) -> Box<Q>,
        range: &Range,
        change: Change,
        panic_at: Option<usize>,
    ) -> Res<Out> {
        let b = boxed(range, conv);
        let (db, ids) = (&mut self.db, &self.ids);
        let fuse = Fuse::new(panic_at);
        catching(|| {
            h.modify_in(db, borrowed(&b), &mut |row: &mut T| {
                let mut r = row.to_r(ids);
                change.apply(&mut r);
                *row = T::from_r(&r, ids);
                // After the row is changed in place: the panic must undo that too.
                fuse.tick();
            })
            .map(Out::Count)
            .map_err(class)
        })
    }

    pub(super) fn delete_range<T: Tab, Q: Ord + ?Sized>(
        &mut self,
        h: &impl Lookup<T, Q>,
        conv: &dyn Fn(&K) -> Box<Q>,
        range: &Range,
    ) -> Res<Out> {
        let b = boxed(range, conv);
        match h.delete_in(&mut self.db, borrowed(&b)) {
            Ok(report) => Ok(Out::Deleted(self.deleted(&report, T::T))),
            Err(e) => Err(class(e)),
        }
    }

    pub(super) fn insert<T: Tab>(&mut self, row: &R) -> Res<Out> {
        let value = T::from_r(row, &self.ids);
        let id = T::table(&self.s)
            .insert(&mut self.db, value)
            .map_err(class)?;
        Ok(Out::Index(self.ids.record(id)))
    }

    pub(super) fn update<T: Tab>(&mut self, i: usize, row: &R, modify: bool) -> Res<Out> {
        let table = T::table(&self.s);
        let id = T::ids(&self.ids)[i];
        let value = T::from_r(row, &self.ids);
        if modify {
            table
                .modify(&mut self.db, id, |v| *v = value)
                .map(|()| Out::Unit)
                .map_err(class)
        } else {
            let old = table.update(&mut self.db, id, value).map_err(class)?;
            Ok(Out::Old(old.to_r(&self.ids)))
        }
    }

    pub(super) fn delete<T: Tab>(&mut self, i: usize) -> Res<Out> {
        let id = T::ids(&self.ids)[i];
        let done = T::table(&self.s).delete(&mut self.db, id).map_err(class)?;
        let report = self.deleted(&done.report, T::T);
        Ok(Out::Removed(done.row.to_r(&self.ids), report))
    }

    pub(super) fn select<T: Tab>(&self, q: &QSpec) -> Out {
        let rows = T::table(&self.s)
            .select(&self.db, &query(q, &self.ids))
            .unwrap();
        Out::Indexes(rows.iter().map(|r| ix(&self.ids, r.id())).collect())
    }

    pub(super) fn modify_where<T: Tab>(
        &mut self,
        filter: Option<Filter>,
        change: Change,
        boom: Option<Boom>,
    ) -> Res<Out> {
        let table = T::table(&self.s);
        let (db, ids) = (&mut self.db, &self.ids);
        let filter_fuse = Fuse::new(match boom {
            Some(Boom::Filter(k)) => Some(k),
            _ => None,
        });
        let change_fuse = Fuse::new(match boom {
            Some(Boom::Change(k)) => Some(k),
            _ => None,
        });
        let change = |row: &mut T| {
            let mut r = row.to_r(ids);
            change.apply(&mut r);
            *row = T::from_r(&r, ids);
            // After the row is changed in place: the panic must undo that too.
            change_fuse.tick();
        };
        catching(|| {
            let done = if filter.is_none() && filter_fuse.at.is_none() {
                table.modify_all(db, change)
            } else {
                table.modify_where(
                    db,
                    |row: &Row<'_, T>| {
                        filter_fuse.tick();
                        filter.is_none_or(|f| f.eval(ix(ids, row.id()), &row.to_r(ids)))
                    },
                    change,
                )
            };
            done.map(Out::Count).map_err(class)
        })
    }

    pub(super) fn delete_where<T: Tab>(
        &mut self,
        filter: Option<Filter>,
        panic_at: Option<usize>,
    ) -> Res<Out> {
        let table = T::table(&self.s);
        let fuse = Fuse::new(panic_at);
        let (db, ids) = (&mut self.db, &self.ids);
        let report = catching(|| {
            table
                .delete_where(db, |row: &Row<'_, T>| {
                    fuse.tick();
                    filter.is_none_or(|f| f.eval(ix(ids, row.id()), &row.to_r(ids)))
                })
                .map_err(class)
        })?;
        Ok(Out::Deleted(self.deleted(&report, T::T)))
    }

    pub(super) fn insert_many<T: Tab>(&mut self, rows: &[R], panic_at: Option<usize>) -> Res<Out> {
        let table = T::table(&self.s);
        let (db, ids) = (&mut self.db, &self.ids);
        let new = catching(|| {
            let values = rows.iter().enumerate().map(|(k, r)| {
                if panic_at == Some(k) {
                    boom_now();
                }
                T::from_r(r, ids)
            });
            table.insert_many(db, values).map_err(class)
        })?;
        Ok(Out::Indexes(
            new.into_iter().map(|id| self.ids.record(id)).collect(),
        ))
    }

    pub(super) fn upsert<T: Tab, KK: relata::Key>(
        &mut self,
        h: Unique<T, KK>,
        row: &R,
        replace: bool,
    ) -> Res<Out> {
        let value = T::from_r(row, &self.ids);
        let (id, inserted) = if replace {
            h.upsert(&mut self.db, value)
        } else {
            h.find_or_insert(&mut self.db, value)
        }
        .map_err(class)?;
        let i = if inserted {
            self.ids.record(id)
        } else {
            ix(&self.ids, id)
        };
        Ok(Out::Upserted(i, inserted))
    }

    /// The reference's upsert.
    pub(super) fn model_upsert(&mut self, ix: Ix, row: R, replace: bool) -> Res<Out> {
        let t = ix.table();
        let holder = ix
            .key(&row)
            .and_then(|k| self.model.find(ix, &k).first().copied());
        match holder {
            Some(i) => {
                if replace {
                    self.model.update(t, i, row)?;
                }
                Ok(Out::Upserted(i, false))
            }
            None => self.model.insert(t, row).map(|i| Out::Upserted(i, true)),
        }
    }
}
