//! A history run against relata: results, picks resolved, the association helpers, reads, writes and dumps.

use super::*;

#[derive(Debug, PartialEq)]
pub(super) enum Out {
    Unit,
    Index(usize),
    Count(usize),
    Bool(bool),
    Indexes(Vec<usize>),
    Parent(Option<usize>),
    Old(R),
    Deleted(R, Deleted),
}

pub(super) struct Run {
    pub(super) s: Schema,
    pub(super) db: Db,
    pub(super) ids: Ids,
    pub(super) model: Keyed,
    pub(super) snapshots: Vec<(Db, Dump)>,
}

/// The rows of `table` a delete's report lists as deleted (or nulled), sorted.
fn reported<T: Tab>(report: &Report, table: Table<T>, ids: &Ids, deleted: bool) -> Vec<usize> {
    let list = if deleted {
        report.deleted_in(table)
    } else {
        report.nulled_in(table)
    };
    let mut v: Vec<usize> = list
        .into_iter()
        .map(|id| {
            let flagged = if deleted {
                report.was_deleted(id)
            } else {
                report.was_nulled(id)
            };
            assert!(flagged, "{id} is listed but not flagged");
            ix(ids, id)
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

pub(super) fn indexes<'a, T: Tab>(ids: &Ids, rows: impl Iterator<Item = Row<'a, T>>) -> Vec<usize> {
    rows.map(|r| ix(ids, r.id())).collect()
}

/// Has-many reads and writes, generic over the link's types.
pub(super) fn hm_children<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &Db,
    ids: &Ids,
    s: usize,
) -> Result<Vec<usize>, Fail> {
    let id = S::ids(ids)[s];
    let got = indexes(ids, hm.get(db, id).map_err(class)?);
    assert_eq!(
        hm.count(db, id).map_err(class)?,
        got.len(),
        "count == get().len()"
    );
    assert!(
        hm.has_all(db, id, got.iter().map(|&c| T::ids(ids)[c]))
            .unwrap(),
        "has_all(get())"
    );
    // Newest first through a query ordered by id.
    let newest = hm
        .query(
            db,
            id,
            &Query::new().order_by(|a: &Row<T>, b: &Row<T>| b.id().cmp(&a.id())),
        )
        .unwrap();
    let mut reversed = got.clone();
    reversed.reverse();
    assert_eq!(
        indexes(ids, newest.into_iter()),
        reversed,
        "query order_by id"
    );
    Ok(got)
}

pub(super) fn hm_add<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &mut Db,
    ids: &Ids,
    s: usize,
    c: usize,
) -> Result<Out, Fail> {
    hm.add(db, S::ids(ids)[s], T::ids(ids)[c])
        .map(Out::Bool)
        .map_err(class)
}

pub(super) fn hm_remove<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &mut Db,
    ids: &Ids,
    s: usize,
    cs: &[usize],
    policy: Policy,
) -> Result<Out, Fail> {
    let sid = S::ids(ids)[s];
    let tids: Vec<Id<T>> = cs.iter().map(|&c| T::ids(ids)[c]).collect();
    if let ([one], Policy::Default) = (&tids[..], policy) {
        return hm
            .remove(db, sid, *one)
            .map(|b| Out::Count(usize::from(b)))
            .map_err(class);
    }
    hm.remove_many_with(db, sid, tids, policy_of(policy))
        .map(Out::Count)
        .map_err(class)
}

pub(super) fn hm_set<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &mut Db,
    ids: &Ids,
    s: usize,
    cs: &[usize],
    policy: Policy,
) -> Result<Out, Fail> {
    let sid = S::ids(ids)[s];
    let tids: Vec<Id<T>> = cs.iter().map(|&c| T::ids(ids)[c]).collect();
    let got = match policy {
        Policy::Default => hm.set(db, sid, tids),
        p => hm.set_with(db, sid, tids, policy_of(p)),
    };
    got.map(Out::Count).map_err(class)
}

pub(super) fn hm_create<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &mut Db,
    ids: &mut Ids,
    s: usize,
    row: &R,
) -> Result<Out, Fail> {
    let value = T::from_r(row, ids);
    let id = hm.create(db, S::ids(ids)[s], value).map_err(class)?;
    Ok(Out::Index(ids.record(id)))
}

pub(super) fn hm_has_all<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &Db,
    ids: &Ids,
    s: usize,
    cs: &[usize],
) -> Result<Out, Fail> {
    let tids: Vec<Id<T>> = cs.iter().map(|&c| T::ids(ids)[c]).collect();
    hm.has_all(db, S::ids(ids)[s], tids)
        .map(Out::Bool)
        .map_err(class)
}

pub(super) fn bt_set<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &mut Db,
    ids: &Ids,
    c: usize,
    s: Option<usize>,
) -> Result<Out, Fail> {
    hm.inverse()
        .set(db, T::ids(ids)[c], s.map(|s| S::ids(ids)[s]))
        .map(|_| Out::Unit)
        .map_err(class)
}

pub(super) fn bt_get<S: Tab, T: Tab, K: Key>(
    hm: HasMany<S, T, K>,
    db: &Db,
    ids: &Ids,
    c: usize,
) -> Result<Option<usize>, Fail> {
    let got = hm.inverse().get(db, T::ids(ids)[c]).map_err(class)?;
    Ok(got.map(|r| ix(ids, r.id())))
}

impl Run {
    /// Resolves a pick against the reference: a live row usually, any issued one sometimes.
    pub(super) fn pick(&self, t: usize, p: Pick) -> Option<usize> {
        let rows = self.model.rows(t);
        if p.live {
            let live: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_some()).collect();
            if !live.is_empty() {
                return Some(live[p.n % live.len()]);
            }
        }
        (!rows.is_empty()).then(|| p.n % rows.len())
    }

    pub(super) fn picks(&self, t: usize, ps: &[Pick]) -> Option<Vec<usize>> {
        ps.iter().map(|&p| self.pick(t, p)).collect()
    }

    /// The value of a foreign key of link `l` an argument names; `None` when it cannot be
    /// named (an id key while no parent was ever issued).
    fn key(&self, l: usize, a: Arg) -> Option<Val> {
        let link = self.model.links[l];
        if !link.by_code {
            // Any issued id: mostly live ones, sometimes stale.
            let p = match a {
                Arg::Of(p) => p,
                Arg::Raw(c) => Pick {
                    live: false,
                    n: c.into(),
                },
            };
            return self.pick(link.parent, p).map(Val::Row);
        }
        match a {
            Arg::Raw(c) => Some(Val::Code(c)),
            Arg::Of(p) => {
                // The code of a live parent: dead rows have no code to borrow.
                let rows = self.model.rows(link.parent);
                let live: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_some()).collect();
                Some(match live.is_empty() {
                    true => Val::Code((p.n % usize::from(CODES)) as u8),
                    false => self.model.key_of(l, live[p.n % live.len()]).unwrap(),
                })
            }
        }
    }

    /// The reference row an insert or update of table `t` writes; `None` when it cannot be
    /// named (an id key while no parent was ever issued).
    pub(super) fn row_for(&self, t: usize, code: Arg, fks: &[Option<Arg>; 3], n: u8) -> Option<R> {
        let mut row = R {
            code: 0,
            fks: [None, None, None],
            n,
        };
        match t {
            ORG => match self.key(3, code)? {
                Val::Code(c) => row.code = c,
                Val::Row(_) => unreachable!("Org.code is a code"),
            },
            DEPT => {
                let a = fks[0].unwrap_or(Arg::Of(Pick { live: true, n: 0 }));
                row.fks[0] = Some(self.key(0, a)?);
            }
            DESK => {
                row.fks[0] = match fks[0] {
                    Some(a) => Some(self.key(1, a)?),
                    None => None,
                };
                row.fks[1] = match fks[1] {
                    Some(a) => Some(self.key(2, a)?),
                    None => None,
                };
                row.fks[2] = match fks[2] {
                    Some(a) => Some(self.key(4, a)?),
                    None => None,
                };
            }
            _ => {
                row.fks[0] = match fks[0] {
                    Some(a) => Some(self.key(3, a)?),
                    None => None,
                }
            }
        }
        Some(row)
    }

    pub(super) fn insert<T: Tab>(&mut self, table: Table<T>, row: &R) -> Result<Out, Fail> {
        let value = T::from_r(row, &self.ids);
        let id = table.insert(&mut self.db, value).map_err(class)?;
        Ok(Out::Index(self.ids.record(id)))
    }

    pub(super) fn update<T: Tab>(
        &mut self,
        table: Table<T>,
        i: usize,
        row: &R,
        modify: bool,
    ) -> Result<Out, Fail> {
        let value = T::from_r(row, &self.ids);
        let id = T::ids(&self.ids)[i];
        let got = if modify {
            table
                .modify(&mut self.db, id, move |r| *r = value)
                .map(|_| None)
        } else {
            table.update(&mut self.db, id, value).map(Some)
        };
        match got {
            Ok(Some(old)) => Ok(Out::Old(old.to_r(&self.ids))),
            Ok(None) => Ok(Out::Unit),
            Err(e) => {
                if let Error::Restricted { change, .. } = &e {
                    assert_eq!(*change, Change::Update, "an update blocks as an update");
                }
                Err(class(e))
            }
        }
    }

    pub(super) fn delete<T: Tab>(&mut self, table: Table<T>, i: usize) -> Result<Out, Fail> {
        match table.delete(&mut self.db, T::ids(&self.ids)[i]) {
            Ok(done) => {
                let (s, ids, r) = (&self.s, &self.ids, &done.report);
                let report = Deleted {
                    deleted: [
                        reported(r, s.orgs, ids, true),
                        reported(r, s.depts, ids, true),
                        reported(r, s.desks, ids, true),
                        reported(r, s.badges, ids, true),
                    ],
                    nulled: [
                        reported(r, s.orgs, ids, false),
                        reported(r, s.depts, ids, false),
                        reported(r, s.desks, ids, false),
                        reported(r, s.badges, ids, false),
                    ],
                };
                Ok(Out::Deleted(done.row.to_r(&self.ids), report))
            }
            Err(e) => {
                if let Error::Restricted { change, .. } = &e {
                    assert_eq!(*change, Change::Delete, "a delete blocks as a delete");
                }
                Err(class(e))
            }
        }
    }

    fn dump_table<T: Tab>(&self, table: Table<T>, db: &Db, state: &mut State) {
        let mut rows = vec![None; self.ids.len(T::T)];
        for row in table.iter(db).unwrap() {
            rows[ix(&self.ids, row.id())] = Some(row.value().to_r(&self.ids));
        }
        assert_eq!(table.len(db).unwrap(), rows.iter().flatten().count());
        state.tables[T::T] = rows;
    }

    /// Everything observable in `db`, read through relata.
    pub(super) fn dump(&self, db: &Db) -> Dump {
        let mut state = State::default();
        self.dump_table(self.s.orgs, db, &mut state);
        self.dump_table(self.s.depts, db, &mut state);
        self.dump_table(self.s.desks, db, &mut state);
        self.dump_table(self.s.badges, db, &mut state);
        let live = |t: usize| -> Vec<usize> {
            (0..state.tables[t].len())
                .filter(|&i| state.tables[t][i].is_some())
                .collect()
        };
        let ids = &self.ids;
        let mut children = Vec::new();
        let mut parents = Vec::new();
        for s in live(ORG) {
            children.push((0, s, hm_children(self.s.l1, db, ids, s).unwrap()));
        }
        for c in live(DEPT) {
            parents.push((0, c, bt_get(self.s.l1, db, ids, c).unwrap()));
        }
        for s in live(DEPT) {
            children.push((1, s, hm_children(self.s.l2, db, ids, s).unwrap()));
        }
        for c in live(DESK) {
            parents.push((1, c, bt_get(self.s.l2, db, ids, c).unwrap()));
        }
        for s in live(ORG) {
            children.push((2, s, hm_children(self.s.l3, db, ids, s).unwrap()));
        }
        for c in live(DESK) {
            parents.push((2, c, bt_get(self.s.l3, db, ids, c).unwrap()));
        }
        for s in live(ORG) {
            let one = self.s.l4.get(db, ids.orgs[s]).unwrap();
            children.push((3, s, one.into_iter().map(|r| ix(ids, r.id())).collect()));
        }
        for c in live(BADGE) {
            let parent = self.s.l4.inverse().get(db, ids.badges[c]).unwrap();
            parents.push((3, c, parent.map(|r| ix(ids, r.id()))));
        }
        for s in live(DESK) {
            children.push((4, s, hm_children(self.s.l5, db, ids, s).unwrap()));
        }
        for c in live(DESK) {
            parents.push((4, c, bt_get(self.s.l5, db, ids, c).unwrap()));
        }
        let mut finds = Vec::new();
        for code in 0..CODES {
            let found = self.s.org_code.find(db, &code).unwrap();
            finds.push((ORG, code, found.map(|r| ix(ids, r.id()))));
        }
        for code in 0..CODES {
            let found = self.s.dept_key.find(db, &code).unwrap();
            finds.push((DEPT, code, found.map(|r| ix(ids, r.id()))));
        }
        Dump {
            state,
            children,
            parents,
            finds,
        }
    }
}
