//! The relata side of the keyed schema: row types, their creation indexes and the declaration of the schema with the drawn actions.

use super::*;

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Org {
    pub(super) code: u8,
    pub(super) n: u8,
}
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Dept {
    pub(super) org_code: u8,
    pub(super) n: u8,
}
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Desk {
    pub(super) dept_code: Option<u8>,
    pub(super) org: Option<Id<Org>>,
    buddy: Option<Id<Desk>>,
    pub(super) n: u8,
}
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Badge {
    pub(super) org_code: Option<u8>,
    pub(super) n: u8,
}

/// Ids issued per table, by creation index.
#[derive(Default)]
pub(super) struct Ids {
    pub(super) orgs: Vec<Id<Org>>,
    pub(super) depts: Vec<Id<Dept>>,
    pub(super) desks: Vec<Id<Desk>>,
    pub(super) badges: Vec<Id<Badge>>,
    pub(super) index: HashMap<(usize, u64), usize>,
}

/// A table of the schema: its number, its ids, its conversion to reference rows.
pub(super) trait Tab: relata::Model + std::fmt::Debug {
    const T: usize;
    fn ids(ids: &Ids) -> &Vec<Id<Self>>;
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>>;
    fn to_r(&self, ids: &Ids) -> R;
    fn from_r(r: &R, ids: &Ids) -> Self;
}

pub(super) fn ix<T: Tab>(ids: &Ids, id: Id<T>) -> usize {
    ids.index[&(T::T, id.seq())]
}

pub(super) fn code(v: Option<Val>) -> Option<u8> {
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
    pub(super) fn record<T: Tab>(&mut self, id: Id<T>) -> usize {
        let list = T::ids_mut(self);
        list.push(id);
        let i = list.len() - 1;
        self.index.insert((T::T, id.seq()), i);
        i
    }

    pub(super) fn len(&self, t: usize) -> usize {
        match t {
            ORG => self.orgs.len(),
            DEPT => self.depts.len(),
            DESK => self.desks.len(),
            _ => self.badges.len(),
        }
    }
}

pub(super) struct Schema {
    pub(super) orgs: Table<Org>,
    pub(super) depts: Table<Dept>,
    pub(super) desks: Table<Desk>,
    pub(super) badges: Table<Badge>,
    pub(super) org_code: Unique<Org, u8>,
    pub(super) dept_key: Unique<Dept, u8>,
    pub(super) l1: HasMany<Org, Dept, u8>,
    pub(super) l2: HasMany<Dept, Desk, u8>,
    pub(super) l3: HasMany<Org, Desk>,
    pub(super) l4: HasOne<Org, Badge, u8>,
    pub(super) l5: HasMany<Desk, Desk>,
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

pub(super) fn schema(a: &Actions, unique_first: bool) -> (Schema, Db) {
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
