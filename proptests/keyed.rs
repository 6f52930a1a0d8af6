//! Attribute-keyed associations and on-update chains against [`Keyed`], a naive reference.
//!
//! Schema (see `keyed_reference`): `Org.code` (unique) → `Dept.org_code` (a non-null foreign
//! key that is also unique, and the source key of the next link) → `Desk.dept_code`; `Desk.org`
//! by id; `Badge.org_code` has-one by code. The on-delete and on-update action of every link
//! is drawn per history (every valid combination), and so is whether the unique index on
//! `Dept.org_code` is declared before or after the association that uses the same field.
//!
//! After every operation: the result equals the reference's (deletes: the returned row and the
//! report's deleted and nulled rows; updates: the old row); `check_integrity` passes; the whole
//! database (rows by id, every association's children and parents, unique lookups) equals the
//! reference; an operation that changed nothing in the reference left the database equal to a
//! fork taken before it; `count == get().len()` and `has_all(get())` for every source; earlier
//! snapshots never change.

use std::collections::HashMap;

use proptest::prelude::*;
use relata::{
    AssocOptions, Change, Db, Error, HasMany, HasOne, Id, Key, OnDelete, OnUpdate, Query, Report,
    Row, Table, Unique, Unlink, field, fk,
};

use crate::keyed_reference::*;

#[derive(Clone, Debug, PartialEq)]
struct Org {
    code: u8,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct Dept {
    org_code: u8,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct Desk {
    dept_code: Option<u8>,
    org: Option<Id<Org>>,
    buddy: Option<Id<Desk>>,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct Badge {
    org_code: Option<u8>,
    n: u8,
}

/// Ids issued per table, by creation index.
#[derive(Default)]
struct Ids {
    orgs: Vec<Id<Org>>,
    depts: Vec<Id<Dept>>,
    desks: Vec<Id<Desk>>,
    badges: Vec<Id<Badge>>,
    index: HashMap<(usize, u64), usize>,
}

/// A table of the schema: its number, its ids, its conversion to reference rows.
trait Tab: relata::Model + std::fmt::Debug {
    const T: usize;
    fn ids(ids: &Ids) -> &Vec<Id<Self>>;
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>>;
    fn to_r(&self, ids: &Ids) -> R;
    fn from_r(r: &R, ids: &Ids) -> Self;
}

fn ix<T: Tab>(ids: &Ids, id: Id<T>) -> usize {
    ids.index[&(T::T, id.seq())]
}

fn code(v: Option<Val>) -> Option<u8> {
    v.map(|v| match v {
        Val::Code(c) => c,
        Val::Row(_) => unreachable!("a code key"),
    })
}

fn row_of(v: Val) -> usize {
    match v {
        Val::Row(i) => i,
        Val::Code(_) => unreachable!("an id key"),
    }
}

impl Tab for Org {
    const T: usize = ORG;
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.orgs
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.orgs
    }
    fn to_r(&self, _: &Ids) -> R {
        R {
            code: self.code,
            fks: [None, None, None],
            n: self.n,
        }
    }
    fn from_r(r: &R, _: &Ids) -> Self {
        Org {
            code: r.code,
            n: r.n,
        }
    }
}
impl Tab for Dept {
    const T: usize = DEPT;
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.depts
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.depts
    }
    fn to_r(&self, _: &Ids) -> R {
        R {
            code: 0,
            fks: [Some(Val::Code(self.org_code)), None, None],
            n: self.n,
        }
    }
    fn from_r(r: &R, _: &Ids) -> Self {
        Dept {
            org_code: code(r.fks[0]).expect("non-null"),
            n: r.n,
        }
    }
}
impl Tab for Desk {
    const T: usize = DESK;
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.desks
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.desks
    }
    fn to_r(&self, ids: &Ids) -> R {
        R {
            code: 0,
            fks: [
                self.dept_code.map(Val::Code),
                self.org.map(|o| Val::Row(ix(ids, o))),
                self.buddy.map(|b| Val::Row(ix(ids, b))),
            ],
            n: self.n,
        }
    }
    fn from_r(r: &R, ids: &Ids) -> Self {
        Desk {
            dept_code: code(r.fks[0]),
            org: r.fks[1].map(|v| ids.orgs[row_of(v)]),
            buddy: r.fks[2].map(|v| ids.desks[row_of(v)]),
            n: r.n,
        }
    }
}
impl Tab for Badge {
    const T: usize = BADGE;
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.badges
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.badges
    }
    fn to_r(&self, _: &Ids) -> R {
        R {
            code: 0,
            fks: [self.org_code.map(Val::Code), None, None],
            n: self.n,
        }
    }
    fn from_r(r: &R, _: &Ids) -> Self {
        Badge {
            org_code: code(r.fks[0]),
            n: r.n,
        }
    }
}

impl Ids {
    fn record<T: Tab>(&mut self, id: Id<T>) -> usize {
        let list = T::ids_mut(self);
        list.push(id);
        let i = list.len() - 1;
        self.index.insert((T::T, id.seq()), i);
        i
    }

    fn len(&self, t: usize) -> usize {
        match t {
            ORG => self.orgs.len(),
            DEPT => self.depts.len(),
            DESK => self.desks.len(),
            _ => self.badges.len(),
        }
    }
}

struct Schema {
    orgs: Table<Org>,
    depts: Table<Dept>,
    desks: Table<Desk>,
    badges: Table<Badge>,
    org_code: Unique<Org, u8>,
    dept_key: Unique<Dept, u8>,
    l1: HasMany<Org, Dept, u8>,
    l2: HasMany<Dept, Desk, u8>,
    l3: HasMany<Org, Desk>,
    l4: HasOne<Org, Badge, u8>,
    l5: HasMany<Desk, Desk>,
}

fn on_delete(a: Act) -> OnDelete {
    match a {
        Act::Cascade => OnDelete::Cascade,
        Act::SetNull => OnDelete::SetNull,
        Act::Restrict => OnDelete::Restrict,
        Act::NoAction => OnDelete::NoAction,
    }
}

fn on_update(a: Act) -> OnUpdate {
    match a {
        Act::Cascade => OnUpdate::Cascade,
        Act::SetNull => OnUpdate::SetNull,
        Act::Restrict => OnUpdate::Restrict,
        Act::NoAction => OnUpdate::NoAction,
    }
}

fn options(d: Act, u: Act) -> AssocOptions {
    AssocOptions::new()
        .on_delete(on_delete(d))
        .on_update(on_update(u))
}

fn schema(a: &Actions, unique_first: bool) -> (Schema, Db) {
    let mut db = Db::new();
    let orgs = db.create_table().unwrap();
    let depts = db.create_table().unwrap();
    let desks = db.create_table().unwrap();
    let badges = db.create_table().unwrap();
    let org_code = db.unique(orgs, field!(Org, code)).unwrap();
    // SetNull on a non-null key is a definition error, and changes nothing.
    let refused = db.has_many_by(
        org_code,
        depts,
        fk!(Dept, org_code),
        AssocOptions::new().on_update(OnUpdate::SetNull),
    );
    assert!(
        matches!(refused, Err(Error::Definition { .. })),
        "{refused:?}"
    );
    let (dept_key, l1) = if unique_first {
        let dept_key = db.unique(depts, field!(Dept, org_code)).unwrap();
        let l1 = db
            .has_many_by(org_code, depts, fk!(Dept, org_code), options(a.d1, a.u1))
            .unwrap();
        (dept_key, l1)
    } else {
        let l1 = db
            .has_many_by(org_code, depts, fk!(Dept, org_code), options(a.d1, a.u1))
            .unwrap();
        (db.unique(depts, field!(Dept, org_code)).unwrap(), l1)
    };
    let l2 = db
        .has_many_by(dept_key, desks, fk!(Desk, dept_code), options(a.d2, a.u2))
        .unwrap();
    let l3 = db
        .has_many_with(orgs, desks, fk!(Desk, org), options(a.d3, Act::Cascade))
        .unwrap();
    let l4 = db
        .has_one_by(org_code, badges, fk!(Badge, org_code), options(a.d4, a.u4))
        .unwrap();
    let l5 = db
        .has_many_with(desks, desks, fk!(Desk, buddy), options(a.d5, Act::Cascade))
        .unwrap();
    let s = Schema {
        orgs,
        depts,
        desks,
        badges,
        org_code,
        dept_key,
        l1,
        l2,
        l3,
        l4,
        l5,
    };
    (s, db)
}

#[derive(Clone, Copy, Debug)]
struct Pick {
    live: bool,
    n: usize,
}

fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), any::<usize>()).prop_map(|(live, n)| Pick { live, n })
}

/// A foreign-key value: the key of a (live) parent row, or a raw code that may name nothing.
#[derive(Clone, Copy, Debug)]
enum Arg {
    Of(Pick),
    Raw(u8),
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![6 => pick().prop_map(Arg::Of), 1 => (0..CODES).prop_map(Arg::Raw)]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        4 => Just(Policy::Default),
        1 => Just(Policy::Nullify),
        1 => Just(Policy::Reject),
        2 => Just(Policy::Delete),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        t: usize,
        code: Arg,
        fks: [Option<Arg>; 3],
        n: u8,
    },
    /// `Table::update`, or `Table::modify` (`modify`), which returns no old row.
    Update {
        t: usize,
        row: Pick,
        code: Arg,
        fks: [Option<Arg>; 3],
        n: u8,
        modify: bool,
    },
    Delete {
        t: usize,
        row: Pick,
    },
    /// `get`, `count` and `query` of a has-many link (0..3).
    Children {
        l: usize,
        s: Pick,
    },
    Add {
        l: usize,
        s: Pick,
        c: Pick,
    },
    Remove {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
        policy: Policy,
    },
    Set {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
        policy: Policy,
    },
    Create {
        l: usize,
        s: Pick,
        fks: [Option<Arg>; 3],
        n: u8,
    },
    HasAll {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
    },
    /// `BelongsTo::set` of a link (0..4).
    SetParent {
        l: usize,
        c: Pick,
        s: Option<Pick>,
    },
    Parent {
        l: usize,
        c: Pick,
    },
    /// HasOne (link 3) `set_with`.
    SetOne {
        s: Pick,
        c: Option<Pick>,
        policy: Policy,
    },
    CreateOne {
        s: Pick,
        n: u8,
    },
    Find {
        dept: bool,
        code: u8,
    },
    Snapshot,
}

fn fks() -> impl Strategy<Value = [Option<Arg>; 3]> {
    [
        prop::option::weighted(0.85, arg()),
        prop::option::weighted(0.8, arg()),
        prop::option::weighted(0.3, arg()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let picks = || prop::collection::vec(pick(), 0..4);
    let n = || any::<u8>();
    // Orgs and depts are few (codes collide), desks and badges many.
    let table = prop_oneof![3 => Just(ORG), 3 => Just(DEPT), 4 => Just(DESK), 2 => Just(BADGE)];
    let code = prop_oneof![3 => (0..CODES).prop_map(Arg::Raw), 1 => pick().prop_map(Arg::Of)];
    prop_oneof![
        10 => (table.clone(), code.clone(), fks(), n()).prop_map(|(t, code, fks, n)| Op::Insert { t, code, fks, n }),
        4 => (table.clone(), pick(), code.clone(), fks(), n(), prop::bool::weighted(0.25))
            .prop_map(|(t, row, code, fks, n, modify)| Op::Update { t, row, code, fks, n, modify }),
        // Renames an org: the change carries on down the chain of keys.
        4 => (pick(), code, n(), prop::bool::weighted(0.25)).prop_map(|(row, code, n, modify)| {
            Op::Update { t: ORG, row, code, fks: [None, None, None], n, modify }
        }),
        3 => (table, pick()).prop_map(|(t, row)| Op::Delete { t, row }),
        1 => (hm_link(), pick()).prop_map(|(l, s)| Op::Children { l, s }),
        3 => (hm_link(), pick(), pick()).prop_map(|(l, s, c)| Op::Add { l, s, c }),
        2 => (hm_link(), pick(), picks(), policy()).prop_map(|(l, s, cs, policy)| Op::Remove { l, s, cs, policy }),
        2 => (hm_link(), pick(), picks(), policy()).prop_map(|(l, s, cs, policy)| Op::Set { l, s, cs, policy }),
        4 => (hm_link(), pick(), fks(), n()).prop_map(|(l, s, fks, n)| Op::Create { l, s, fks, n }),
        1 => (hm_link(), pick(), picks()).prop_map(|(l, s, cs)| Op::HasAll { l, s, cs }),
        2 => (bt_link(), pick(), prop::option::weighted(0.8, pick())).prop_map(|(l, c, s)| Op::SetParent { l, c, s }),
        1 => (bt_link(), pick()).prop_map(|(l, c)| Op::Parent { l, c }),
        2 => (pick(), prop::option::weighted(0.8, pick()), policy()).prop_map(|(s, c, policy)| Op::SetOne { s, c, policy }),
        1 => (pick(), n()).prop_map(|(s, n)| Op::CreateOne { s, n }),
        1 => (any::<bool>(), 0..CODES).prop_map(|(dept, code)| Op::Find { dept, code }),
        1 => Just(Op::Snapshot),
    ]
}

/// The has-many links (link 3 is the has-one).
fn hm_link() -> impl Strategy<Value = usize> {
    prop::sample::select(&[0usize, 1, 2, 4][..])
}

/// Every link, for belongs-to reads and writes.
fn bt_link() -> impl Strategy<Value = usize> {
    0..LINKS
}

fn act(choices: &'static [Act]) -> impl Strategy<Value = Act> {
    prop::sample::select(choices)
}

const NON_NULL: &[Act] = &[Act::Cascade, Act::Cascade, Act::Restrict, Act::NoAction];
const ANY: &[Act] = &[Act::Cascade, Act::SetNull, Act::Restrict, Act::NoAction];

fn actions() -> impl Strategy<Value = Actions> {
    (
        act(NON_NULL),
        act(NON_NULL),
        act(ANY),
        act(ANY),
        act(ANY),
        act(ANY),
        act(ANY),
        act(ANY),
    )
        .prop_map(|(d1, u1, d2, u2, d3, d4, u4, d5)| Actions {
            d1,
            u1,
            d2,
            u2,
            d3,
            d4,
            u4,
            d5,
        })
}

fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::Validation { .. } => Fail::Validation,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        Error::Restricted { .. } => Fail::Restricted,
        Error::Conflict { .. } => Fail::Conflict,
        other => panic!("unexpected error class: {other}"),
    }
}

fn policy_of(p: Policy) -> Option<Unlink> {
    match p {
        Policy::Default => None,
        Policy::Nullify => Some(Unlink::Nullify),
        Policy::Reject => Some(Unlink::Reject),
        Policy::Delete => Some(Unlink::Delete),
    }
}

#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Index(usize),
    Count(usize),
    Bool(bool),
    Indexes(Vec<usize>),
    Parent(Option<usize>),
    Old(R),
    Deleted(R, Deleted),
}

struct Run {
    s: Schema,
    db: Db,
    ids: Ids,
    model: Keyed,
    snapshots: Vec<(Db, Dump)>,
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

fn indexes<'a, T: Tab>(ids: &Ids, rows: impl Iterator<Item = Row<'a, T>>) -> Vec<usize> {
    rows.map(|r| ix(ids, r.id())).collect()
}

/// Has-many reads and writes, generic over the link's types.
fn hm_children<S: Tab, T: Tab, K: Key>(
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

fn hm_add<S: Tab, T: Tab, K: Key>(
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

fn hm_remove<S: Tab, T: Tab, K: Key>(
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

fn hm_set<S: Tab, T: Tab, K: Key>(
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

fn hm_create<S: Tab, T: Tab, K: Key>(
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

fn hm_has_all<S: Tab, T: Tab, K: Key>(
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

fn bt_set<S: Tab, T: Tab, K: Key>(
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

fn bt_get<S: Tab, T: Tab, K: Key>(
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
    fn pick(&self, t: usize, p: Pick) -> Option<usize> {
        let rows = self.model.rows(t);
        if p.live {
            let live: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_some()).collect();
            if !live.is_empty() {
                return Some(live[p.n % live.len()]);
            }
        }
        (!rows.is_empty()).then(|| p.n % rows.len())
    }

    fn picks(&self, t: usize, ps: &[Pick]) -> Option<Vec<usize>> {
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
    fn row_for(&self, t: usize, code: Arg, fks: &[Option<Arg>; 3], n: u8) -> Option<R> {
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

    fn insert<T: Tab>(&mut self, table: Table<T>, row: &R) -> Result<Out, Fail> {
        let value = T::from_r(row, &self.ids);
        let id = table.insert(&mut self.db, value).map_err(class)?;
        Ok(Out::Index(self.ids.record(id)))
    }

    fn update<T: Tab>(
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

    fn delete<T: Tab>(&mut self, table: Table<T>, i: usize) -> Result<Out, Fail> {
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
    fn dump(&self, db: &Db) -> Dump {
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

    fn step(&mut self, op: &Op) {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return,
                }
            };
        }
        macro_rules! on_table {
            ($t:expr, $method:ident, $($arg:expr),*) => {
                match $t {
                    ORG => self.$method(self.s.orgs, $($arg),*),
                    DEPT => self.$method(self.s.depts, $($arg),*),
                    DESK => self.$method(self.s.desks, $($arg),*),
                    _ => self.$method(self.s.badges, $($arg),*),
                }
            };
        }
        macro_rules! on_hm {
            ($l:expr, $f:ident, $db:expr, $ids:expr, $($arg:expr),*) => {
                match $l {
                    0 => $f(self.s.l1, $db, $ids, $($arg),*),
                    1 => $f(self.s.l2, $db, $ids, $($arg),*),
                    2 => $f(self.s.l3, $db, $ids, $($arg),*),
                    _ => $f(self.s.l5, $db, $ids, $($arg),*),
                }
            };
        }
        let links = self.model.links;
        let (got, want): (Result<Out, Fail>, Result<Out, Fail>) = match op {
            Op::Insert { t, code, fks, n } => {
                let row = need!(self.row_for(*t, *code, fks, *n));
                let got = on_table!(*t, insert, &row);
                (got, self.model.insert(*t, row).map(Out::Index))
            }
            Op::Update {
                t,
                row: p,
                code,
                fks,
                n,
                modify,
            } => {
                let i = need!(self.pick(*t, *p));
                let row = need!(self.row_for(*t, *code, fks, *n));
                let old = self.model.rows(*t)[i].clone();
                let got = on_table!(*t, update, i, &row, *modify);
                let want = self.model.update(*t, i, row).map(|_| match modify {
                    true => Out::Unit,
                    false => Out::Old(old.unwrap()),
                });
                (got, want)
            }
            Op::Delete { t, row: p } => {
                let i = need!(self.pick(*t, *p));
                let old = self.model.rows(*t)[i].clone();
                let got = on_table!(*t, delete, i);
                let want = self
                    .model
                    .delete(*t, i)
                    .map(|d| Out::Deleted(old.unwrap(), d));
                (got, want)
            }
            Op::Children { l, s } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let got = on_hm!(*l, hm_children, &self.db, &self.ids, s).map(Out::Indexes);
                (got, self.model.children(*l, s).map(Out::Indexes))
            }
            Op::Add { l, s, c } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let c = need!(self.pick(links[*l].child, *c));
                let got = on_hm!(*l, hm_add, &mut self.db, &self.ids, s, c);
                (got, self.model.add(*l, s, c).map(Out::Bool))
            }
            Op::Remove { l, s, cs, policy } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let cs = need!(self.picks(links[*l].child, cs));
                let got = on_hm!(*l, hm_remove, &mut self.db, &self.ids, s, &cs, *policy);
                (got, self.model.remove(*l, s, &cs, *policy).map(Out::Count))
            }
            Op::Set { l, s, cs, policy } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let cs = need!(self.picks(links[*l].child, cs));
                let got = on_hm!(*l, hm_set, &mut self.db, &self.ids, s, &cs, *policy);
                (got, self.model.set(*l, s, &cs, *policy).map(Out::Count))
            }
            Op::Create { l, s, fks, n } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let child = links[*l].child;
                let row = need!(self.row_for(child, Arg::Raw(0), fks, *n));
                // Whatever key the value holds, `create` overwrites it.
                let got = on_hm!(*l, hm_create, &mut self.db, &mut self.ids, s, &row);
                (got, self.model.create(*l, s, row).map(Out::Index))
            }
            Op::HasAll { l, s, cs } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let cs = need!(self.picks(links[*l].child, cs));
                let got = on_hm!(*l, hm_has_all, &self.db, &self.ids, s, &cs);
                (got, self.model.has_all(*l, s, &cs).map(Out::Bool))
            }
            Op::SetParent { l, c, s } => {
                let c = need!(self.pick(links[*l].child, *c));
                let s = match s {
                    Some(s) => Some(need!(self.pick(links[*l].parent, *s))),
                    None => None,
                };
                let got = match l {
                    3 => self
                        .s
                        .l4
                        .inverse()
                        .set(
                            &mut self.db,
                            self.ids.badges[c],
                            s.map(|s| self.ids.orgs[s]),
                        )
                        .map(|_| Out::Unit)
                        .map_err(class),
                    _ => on_hm!(*l, bt_set, &mut self.db, &self.ids, c, s),
                };
                (got, self.model.set_parent(*l, c, s).map(|_| Out::Unit))
            }
            Op::Parent { l, c } => {
                let c = need!(self.pick(links[*l].child, *c));
                let got = match l {
                    3 => self
                        .s
                        .l4
                        .inverse()
                        .get(&self.db, self.ids.badges[c])
                        .map(|p| p.map(|r| ix(&self.ids, r.id())))
                        .map_err(class),
                    _ => on_hm!(*l, bt_get, &self.db, &self.ids, c),
                };
                (
                    got.map(Out::Parent),
                    self.model.parent(*l, c).map(Out::Parent),
                )
            }
            Op::SetOne { s, c, policy } => {
                let s = need!(self.pick(ORG, *s));
                let c = match c {
                    Some(c) => Some(need!(self.pick(BADGE, *c))),
                    None => None,
                };
                let got = self
                    .s
                    .l4
                    .set_with(
                        &mut self.db,
                        self.ids.orgs[s],
                        c.map(|c| self.ids.badges[c]),
                        policy_of(*policy),
                    )
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.model.set_one(3, s, c, *policy).map(|_| Out::Unit))
            }
            Op::CreateOne { s, n } => {
                let s = need!(self.pick(ORG, *s));
                let badge = Badge {
                    org_code: None,
                    n: *n,
                };
                let got = self
                    .s
                    .l4
                    .create(&mut self.db, self.ids.orgs[s], badge)
                    .map_err(class)
                    .map(|id| Out::Index(self.ids.record(id)));
                let row = R {
                    code: 0,
                    fks: [None, None, None],
                    n: *n,
                };
                (got, self.model.create_one(3, s, row).map(Out::Index))
            }
            Op::Find { dept, code } => {
                let got = if *dept {
                    self.s
                        .dept_key
                        .find(&self.db, code)
                        .unwrap()
                        .map(|r| ix(&self.ids, r.id()))
                } else {
                    self.s
                        .org_code
                        .find(&self.db, code)
                        .unwrap()
                        .map(|r| ix(&self.ids, r.id()))
                };
                let t = if *dept { DEPT } else { ORG };
                (
                    Ok(Out::Parent(got)),
                    Ok(Out::Parent(self.model.find(t, *code))),
                )
            }
            Op::Snapshot => {
                if self.snapshots.len() < 2 {
                    let dump = self.model.dump();
                    self.snapshots.push((self.db.fork(), dump));
                }
                (Ok(Out::Unit), Ok(Out::Unit))
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}

/// A frozen reference dump, extended with the rows issued since (absent from it).
fn widened(mut dump: Dump, ids: &Ids) -> Dump {
    for t in 0..TABLES {
        dump.state.tables[t].resize(ids.len(t), None);
    }
    dump
}

fn run(actions: Actions, unique_first: bool, ops: &[Op]) {
    let (s, db) = schema(&actions, unique_first);
    let mut run = Run {
        s,
        db,
        ids: Ids::default(),
        model: Keyed::new(actions),
        snapshots: Vec::new(),
    };
    for op in ops {
        let before = run.db.fork();
        let model_before = run.model.state.clone();
        run.step(op);
        if let Err(e) = run.db.check_integrity() {
            panic!("integrity after {op:?}: {e}");
        }
        // Rows issued by the operation are in the reference already; rows created and rolled
        // back inside it were never issued.
        for t in 0..TABLES {
            assert_eq!(
                run.model.rows(t).len(),
                run.ids.len(t),
                "ids issued after {op:?}"
            );
        }
        let now = run.dump(&run.db);
        assert_eq!(
            now,
            run.model.dump(),
            "database differs from the reference after {op:?}"
        );
        if run.model.state == model_before {
            assert_eq!(run.dump(&before), now, "{op:?} changed the database");
        }
        for (snapshot, frozen) in &run.snapshots {
            assert_eq!(
                run.dump(snapshot),
                widened(frozen.clone(), &run.ids),
                "a snapshot changed after {op:?}"
            );
        }
    }
}

proptest! {
    #[test]
    fn keyed_cascades_match_the_reference(
        actions in actions(),
        unique_first in any::<bool>(),
        ops in prop::collection::vec(op(), 1..64),
    ) {
        run(actions, unique_first, &ops);
    }
}
