//! The random operations of a history, the picks of ids and handles, and their strategies; the declaration of a world.

use super::*;

/// Picks an id: usually one that is live in the database and belongs to the handle's table
/// instance, otherwise any id ever issued (stale, foreign, rolled back).
#[derive(Clone, Copy, Debug)]
pub(super) struct IdPick {
    pub(super) valid: bool,
    pub(super) n: usize,
}

fn id_pick() -> impl Strategy<Value = IdPick> {
    (prop::bool::weighted(0.8), any::<usize>()).prop_map(|(valid, n)| IdPick { valid, n })
}

/// Picks a handle: usually the one the database knows, otherwise any of its kind.
#[derive(Clone, Copy, Debug)]
pub(super) struct HPick {
    pub(super) known: bool,
    pub(super) n: usize,
}

fn h_pick() -> impl Strategy<Value = HPick> {
    (prop::bool::weighted(0.8), any::<usize>()).prop_map(|(known, n)| HPick { known, n })
}

/// How a `C` table is declared.
#[derive(Clone, Copy, Debug)]
pub(super) enum How {
    Direct,
    /// In a transaction that commits (`closure`: `Db::transaction`, else `Db::begin`).
    Commit {
        closure: bool,
    },
    /// In a transaction that rolls back after inserting `rows` rows; `panic`: by a panic that
    /// unwinds out of it.
    Rollback {
        closure: bool,
        rows: u8,
        panic: bool,
    },
}

#[derive(Clone, Debug)]
pub(super) enum Op {
    NewDb,
    Fork {
        src: usize,
        dst: usize,
    },
    CreateC {
        db: usize,
        how: How,
    },
    Insert {
        db: usize,
        k: usize,
        h: HPick,
        a: Option<IdPick>,
        code: u8,
        n: u8,
    },
    Update {
        db: usize,
        k: usize,
        h: HPick,
        id: IdPick,
        a: Option<IdPick>,
        code: u8,
        n: u8,
    },
    Delete {
        db: usize,
        k: usize,
        h: HPick,
        id: IdPick,
    },
    Get {
        db: usize,
        k: usize,
        h: HPick,
        id: IdPick,
    },
    /// `get` of `A` has many `B` (`c == false`) or `C`.
    Children {
        db: usize,
        c: bool,
        h: HPick,
        a: IdPick,
    },
    Add {
        db: usize,
        c: bool,
        h: HPick,
        a: IdPick,
        child: IdPick,
    },
    SetParent {
        db: usize,
        c: bool,
        h: HPick,
        child: IdPick,
        a: Option<IdPick>,
    },
    Find {
        db: usize,
        h: HPick,
        code: u8,
    },
    /// Every method of every handle the database did not declare: all `UnknownHandle`.
    Probe {
        db: usize,
    },
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let db = || any::<usize>();
    let k = || 0..3usize;
    let how = prop_oneof![
        2 => Just(How::Direct),
        1 => any::<bool>().prop_map(|closure| How::Commit { closure }),
        2 => (any::<bool>(), 0..3u8, prop::bool::weighted(0.3))
            .prop_map(|(closure, rows, panic)| How::Rollback { closure, rows, panic }),
    ];
    let a = || prop::option::weighted(0.85, id_pick());
    prop_oneof![
        1 => Just(Op::NewDb),
        2 => (db(), db()).prop_map(|(src, dst)| Op::Fork { src, dst }),
        2 => (db(), how).prop_map(|(db, how)| Op::CreateC { db, how }),
        10 => (db(), k(), h_pick(), a(), 0..CODES, any::<u8>())
            .prop_map(|(db, k, h, a, code, n)| Op::Insert { db, k, h, a, code, n }),
        3 => (db(), k(), h_pick(), id_pick(), a(), 0..CODES, any::<u8>())
            .prop_map(|(db, k, h, id, a, code, n)| Op::Update { db, k, h, id, a, code, n }),
        3 => (db(), k(), h_pick(), id_pick()).prop_map(|(db, k, h, id)| Op::Delete { db, k, h, id }),
        3 => (db(), k(), h_pick(), id_pick()).prop_map(|(db, k, h, id)| Op::Get { db, k, h, id }),
        2 => (db(), any::<bool>(), h_pick(), id_pick()).prop_map(|(db, c, h, a)| Op::Children { db, c, h, a }),
        2 => (db(), any::<bool>(), h_pick(), id_pick(), id_pick())
            .prop_map(|(db, c, h, a, child)| Op::Add { db, c, h, a, child }),
        2 => (db(), any::<bool>(), h_pick(), id_pick(), a())
            .prop_map(|(db, c, h, child, a)| Op::SetParent { db, c, h, child, a }),
        1 => (db(), h_pick(), 0..CODES).prop_map(|(db, h, code)| Op::Find { db, h, code }),
        1 => db().prop_map(|db| Op::Probe { db }),
    ]
}

pub(super) fn new_world() -> (World, Db) {
    let mut db = Db::new();
    let a = db.create_table().unwrap();
    let b = db.create_table().unwrap();
    let ab = db.has_many(a, b, fk!(B, a)).unwrap();
    let code = db.unique(a, field!(A, code)).unwrap();
    (World { a, b, ab, code }, db)
}

/// Declares `C` and `A` has many `C` on `db`, whose `A` table is `a`.
pub(super) fn declare_c(db: &mut Db, a: Table<A>) -> Result<CHandle, Error> {
    let c = db.create_table::<C>()?;
    let ac = db.has_many(a, c, fk!(C, a))?;
    Ok(CHandle { c, ac })
}
