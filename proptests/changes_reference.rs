//! The schema, random histories and full-scan reference shared by `changes` and `archive`.
//!
//! Schema: `Team { name }` (name unique) has many `Player` by `Player.team` (nullable, SetNull
//! on delete) and many `Fan` by *name* (`Fan.team_name`, nullable; on-delete and on-update
//! actions drawn per history); `Player` has many `Player` by `Player.mentor` (nullable,
//! on-delete drawn) and many `Badge` by `Badge.player` (non-null, Cascade or Restrict).
//!
//! A history is a list of [`Op`]s run by [`execute`], which returns the operation's result in
//! a canonical form (ids print as `Model#seq`, reports as sorted lists) so that two databases
//! that should behave alike can be compared even when their ids differ. [`State`] is the
//! naive view of a database (in `scan_reference.rs`): every row by id, every link worked out
//! from the rows' keys, and the same links and unique lookups as relata's indexes answer them.

use std::fmt::Debug;

use proptest::prelude::*;
use relata::{
    AssocOptions, Db, Deleted, HasMany, Id, Key, OnDelete, OnUpdate, Report, Table, Unique, Unlink,
    field, fk,
};
use serde::{Deserialize, Serialize};

// The full-scan reference (`State`), in a file of its own.
#[path = "scan_reference.rs"]
mod scan;
pub use scan::*;

/// Team names (and so fan keys) are drawn from `0..NAMES`, so that they collide.
pub const NAMES: u8 = 5;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub name: u8,
    pub n: u8,
}
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Player {
    pub team: Option<Id<Team>>,
    pub mentor: Option<Id<Player>>,
    pub n: u8,
}
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Badge {
    pub player: Id<Player>,
    pub n: u8,
}
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fan {
    pub team_name: Option<u8>,
    pub n: u8,
}

/// The referential actions a history runs with.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub mentor_delete: OnDelete,
    pub badge_delete: OnDelete,
    pub fan_delete: OnDelete,
    pub fan_update: OnUpdate,
}

pub fn options() -> impl Strategy<Value = Options> {
    let delete = || {
        prop_oneof![
            Just(OnDelete::Cascade),
            Just(OnDelete::SetNull),
            Just(OnDelete::Restrict)
        ]
    };
    (
        delete(),
        prop_oneof![Just(OnDelete::Cascade), Just(OnDelete::Restrict)],
        delete(),
        prop_oneof![
            Just(OnUpdate::Cascade),
            Just(OnUpdate::SetNull),
            Just(OnUpdate::Restrict),
            Just(OnUpdate::NoAction)
        ],
    )
        .prop_map(|(m, b, f, u)| Options {
            mentor_delete: m,
            badge_delete: b,
            fan_delete: f,
            fan_update: u,
        })
}

#[derive(Clone, Copy)]
pub struct Schema {
    pub teams: Table<Team>,
    pub players: Table<Player>,
    pub badges: Table<Badge>,
    pub fans: Table<Fan>,
    pub team_names: Unique<Team, u8>,
    pub roster: HasMany<Team, Player>,
    pub mentees: HasMany<Player, Player>,
    pub awards: HasMany<Player, Badge>,
    pub club: HasMany<Team, Fan, u8>,
}

/// Declares the schema in `db` (the same declarations in the same order every time).
pub fn declare(db: &mut Db, o: &Options) -> Schema {
    let teams = db.create_table().unwrap();
    let players = db.create_table().unwrap();
    let badges = db.create_table().unwrap();
    let fans = db.create_table().unwrap();
    let team_names = db.unique(teams, field!(Team, name)).unwrap();
    let on_delete = |d| AssocOptions::new().on_delete(d);
    let roster = db
        .has_many_with(
            teams,
            players,
            fk!(Player, team),
            on_delete(OnDelete::SetNull),
        )
        .unwrap();
    let mentees = db
        .has_many_with(
            players,
            players,
            fk!(Player, mentor),
            on_delete(o.mentor_delete),
        )
        .unwrap();
    let awards = db
        .has_many_with(
            players,
            badges,
            fk!(Badge, player),
            on_delete(o.badge_delete),
        )
        .unwrap();
    let club = db
        .has_many_by(
            team_names,
            fans,
            fk!(Fan, team_name),
            on_delete(o.fan_delete).on_update(o.fan_update),
        )
        .unwrap();
    Schema {
        teams,
        players,
        badges,
        fans,
        team_names,
        roster,
        mentees,
        awards,
        club,
    }
}

/// Every id a history was handed, per table, in the order it was handed out (dead ones too).
#[derive(Clone, Debug, Default)]
pub struct Ids {
    pub teams: Vec<Id<Team>>,
    pub players: Vec<Id<Player>>,
    pub badges: Vec<Id<Badge>>,
    pub fans: Vec<Id<Fan>>,
}

pub trait Tab: relata::Model + Debug + PartialEq {
    fn list(ids: &Ids) -> &Vec<Id<Self>>;
    fn list_mut(ids: &mut Ids) -> &mut Vec<Id<Self>>;
}
macro_rules! tab {
    ($t:ty, $f:ident) => {
        impl Tab for $t {
            fn list(ids: &Ids) -> &Vec<Id<Self>> {
                &ids.$f
            }
            fn list_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
                &mut ids.$f
            }
        }
    };
}
tab!(Team, teams);
tab!(Player, players);
tab!(Badge, badges);
tab!(Fan, fans);

/// A row named by its position among the ids issued so far.
#[derive(Clone, Copy, Debug)]
pub struct Pick(pub usize);

pub fn get<T: Tab>(ids: &Ids, p: Pick) -> Option<Id<T>> {
    let list = T::list(ids);
    (!list.is_empty()).then(|| list[p.0 % list.len()])
}

/// The values of a new or updated row; each table uses the fields it has.
#[derive(Clone, Debug)]
pub struct Fields {
    pub name: u8,
    pub team: Option<Pick>,
    pub mentor: Option<Pick>,
    pub player: Pick,
    pub team_name: Option<u8>,
    pub n: u8,
}

#[derive(Clone, Debug)]
pub enum Op {
    Insert {
        t: usize,
        f: Fields,
    },
    /// `Table::update`, or `Table::modify` (`modify`).
    Update {
        t: usize,
        row: Pick,
        f: Fields,
        modify: bool,
    },
    Delete {
        t: usize,
        row: Pick,
    },
    /// Of link `l` (0 roster, 1 mentees, 2 awards, 3 club): `add`.
    Add {
        l: usize,
        s: Pick,
        c: Pick,
    },
    /// `remove_many_with`.
    Remove {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
        policy: Option<Unlink>,
    },
    /// `set_with`.
    Set {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
        policy: Option<Unlink>,
    },
    Create {
        l: usize,
        s: Pick,
        n: u8,
    },
    /// `modify_where(n % 3 == k, ...)` with a change that depends on `d` (see `execute`).
    ModifyWhere {
        t: usize,
        k: u8,
        d: u8,
    },
    /// `delete_where(n % 4 == k)`.
    DeleteWhere {
        t: usize,
        k: u8,
    },
    /// `insert_many` of teams `(name, n)`.
    InsertMany {
        teams: Vec<(u8, u8)>,
    },
    /// `Unique::upsert` of a team.
    Upsert {
        name: u8,
        n: u8,
    },
    /// The operations in a transaction (`Db::transaction`, or `begin` when `begin`) that rolls
    /// back when `fail`.
    Txn {
        ops: Vec<Op>,
        fail: bool,
        begin: bool,
    },
    /// Taken by the harness (a fork kept for later); nothing for `execute`.
    Snapshot,
}

fn pick() -> impl Strategy<Value = Pick> {
    any::<usize>().prop_map(Pick)
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        0..NAMES,
        prop::option::weighted(0.7, pick()),
        prop::option::weighted(0.3, pick()),
        pick(),
        prop::option::weighted(0.7, 0..NAMES + 1),
        0..12u8,
    )
        .prop_map(|(name, team, mentor, player, team_name, n)| Fields {
            name,
            team,
            mentor,
            player,
            team_name,
            n,
        })
}

fn policy() -> impl Strategy<Value = Option<Unlink>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Unlink::Nullify)),
        1 => Just(Some(Unlink::Reject)),
        2 => Just(Some(Unlink::Delete)),
    ]
}

/// An operation other than a transaction or a snapshot.
pub fn simple_op() -> impl Strategy<Value = Op> {
    let t = || 0..4usize;
    let picks = || prop::collection::vec(pick(), 0..4);
    prop_oneof![
        8 => (t(), fields()).prop_map(|(t, f)| Op::Insert { t, f }),
        5 => (t(), pick(), fields(), any::<bool>())
            .prop_map(|(t, row, f, modify)| Op::Update { t, row, f, modify }),
        3 => (t(), pick()).prop_map(|(t, row)| Op::Delete { t, row }),
        4 => (t(), pick(), pick()).prop_map(|(l, s, c)| Op::Add { l, s, c }),
        2 => (t(), pick(), picks(), policy())
            .prop_map(|(l, s, cs, policy)| Op::Remove { l, s, cs, policy }),
        2 => (t(), pick(), picks(), policy())
            .prop_map(|(l, s, cs, policy)| Op::Set { l, s, cs, policy }),
        4 => (t(), pick(), 0..12u8).prop_map(|(l, s, n)| Op::Create { l, s, n }),
        2 => (t(), 0..3u8, 0..8u8).prop_map(|(t, k, d)| Op::ModifyWhere { t, k, d }),
        1 => (t(), 0..4u8).prop_map(|(t, k)| Op::DeleteWhere { t, k }),
        1 => prop::collection::vec((0..NAMES, 0..12u8), 0..3)
            .prop_map(|teams| Op::InsertMany { teams }),
        1 => (0..NAMES, 0..12u8).prop_map(|(name, n)| Op::Upsert { name, n }),
    ]
}

/// Any operation, snapshots included.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => simple_op(),
        2 => (prop::collection::vec(simple_op(), 1..5), any::<bool>(), any::<bool>())
            .prop_map(|(ops, fail, begin)| Op::Txn { ops, fail, begin }),
        1 => Just(Op::Snapshot),
    ]
}

/// Rows of each table built from `f`; `None` when a needed id does not exist yet.
fn team(f: &Fields) -> Team {
    Team {
        name: f.name,
        n: f.n,
    }
}
fn player(ids: &Ids, f: &Fields) -> Player {
    Player {
        team: f.team.and_then(|p| get(ids, p)),
        mentor: f.mentor.and_then(|p| get(ids, p)),
        n: f.n,
    }
}
fn badge(ids: &Ids, f: &Fields) -> Option<Badge> {
    get(ids, f.player).map(|player| Badge { player, n: f.n })
}
fn fan(f: &Fields) -> Fan {
    Fan {
        team_name: f.team_name,
        n: f.n,
    }
}

/// A report as sorted lists of `Model#seq`.
pub fn report(r: &Report) -> String {
    let mut deleted: Vec<String> = r.deleted_rows().map(|r| r.to_string()).collect();
    let mut nulled: Vec<String> = r.nulled_rows().map(|(r, f)| format!("{r}.{f}")).collect();
    deleted.sort();
    nulled.sort();
    format!("deleted {deleted:?} nulled {nulled:?}")
}

fn out<V: Debug>(r: relata::Result<V>) -> String {
    format!("{r:?}")
}

const SKIP: &str = "skip";

fn insert<T: Tab>(db: &mut Db, table: Table<T>, ids: &mut Ids, row: Option<T>) -> String {
    let Some(row) = row else { return SKIP.into() };
    let r = table.insert(db, row);
    if let Ok(id) = r {
        T::list_mut(ids).push(id);
    }
    out(r)
}

fn update<T: Tab>(
    db: &mut Db,
    table: Table<T>,
    ids: &Ids,
    row: Pick,
    value: Option<T>,
    modify: bool,
) -> String {
    let (Some(id), Some(value)) = (get::<T>(ids, row), value) else {
        return SKIP.into();
    };
    if modify {
        out(table.modify(db, id, |r| *r = value))
    } else {
        out(table.update(db, id, value))
    }
}

fn delete<T: Tab>(db: &mut Db, table: Table<T>, ids: &Ids, row: Pick) -> String {
    let Some(id) = get::<T>(ids, row) else {
        return SKIP.into();
    };
    match table.delete(db, id) {
        Ok(Deleted { row, report: r }) => format!("Ok({row:?}, {})", report(&r)),
        Err(e) => format!("Err({e:?})"),
    }
}

fn link<S: Tab, T: Tab, K: Key>(
    db: &mut Db,
    hm: HasMany<S, T, K>,
    ids: &mut Ids,
    op: &Op,
    make: impl Fn(Id<S>, u8) -> T,
) -> String {
    let targets = |cs: &[Pick]| -> Vec<Id<T>> { cs.iter().filter_map(|&c| get(ids, c)).collect() };
    match op {
        Op::Add { s, c, .. } => match (get::<S>(ids, *s), get::<T>(ids, *c)) {
            (Some(s), Some(c)) => out(hm.add(db, s, c)),
            _ => SKIP.into(),
        },
        Op::Remove { s, cs, policy, .. } => match get::<S>(ids, *s) {
            Some(s) => out(hm.remove_many_with(db, s, targets(cs), *policy)),
            None => SKIP.into(),
        },
        Op::Set { s, cs, policy, .. } => match get::<S>(ids, *s) {
            Some(s) => out(hm.set_with(db, s, targets(cs), *policy)),
            None => SKIP.into(),
        },
        Op::Create { s, n, .. } => match get::<S>(ids, *s) {
            Some(s) => {
                let r = hm.create(db, s, make(s, *n));
                if let Ok(id) = r {
                    T::list_mut(ids).push(id);
                }
                out(r)
            }
            None => SKIP.into(),
        },
        _ => unreachable!("a link operation"),
    }
}

/// Runs `op` on `db` (handles `s`, ids `ids`, to which it adds the ids it is handed) and
/// returns its result in canonical form.
pub fn execute(db: &mut Db, s: &Schema, ids: &mut Ids, op: &Op) -> String {
    match op {
        Op::Insert { t, f } => match t {
            0 => insert(db, s.teams, ids, Some(team(f))),
            1 => {
                let row = player(ids, f);
                insert(db, s.players, ids, Some(row))
            }
            2 => {
                let row = badge(ids, f);
                insert(db, s.badges, ids, row)
            }
            _ => insert(db, s.fans, ids, Some(fan(f))),
        },
        Op::Update { t, row, f, modify } => match t {
            0 => update(db, s.teams, ids, *row, Some(team(f)), *modify),
            1 => update(db, s.players, ids, *row, Some(player(ids, f)), *modify),
            2 => update(db, s.badges, ids, *row, badge(ids, f), *modify),
            _ => update(db, s.fans, ids, *row, Some(fan(f)), *modify),
        },
        Op::Delete { t, row } => match t {
            0 => delete(db, s.teams, ids, *row),
            1 => delete(db, s.players, ids, *row),
            2 => delete(db, s.badges, ids, *row),
            _ => delete(db, s.fans, ids, *row),
        },
        Op::Add { l, .. } | Op::Remove { l, .. } | Op::Set { l, .. } | Op::Create { l, .. } => {
            match l {
                0 => link(db, s.roster, ids, op, |t, n| Player {
                    team: Some(t),
                    mentor: None,
                    n,
                }),
                1 => link(db, s.mentees, ids, op, |_, n| Player {
                    team: None,
                    mentor: None,
                    n,
                }),
                2 => link(db, s.awards, ids, op, |p, n| Badge { player: p, n }),
                _ => link(db, s.club, ids, op, |_, n| Fan { team_name: None, n }),
            }
        }
        Op::ModifyWhere { t, k, d } => {
            let (k, d) = (*k, *d);
            match t {
                0 => out(s.teams.modify_where(
                    db,
                    |r| r.n % 3 == k,
                    |r| {
                        r.name = (r.name + d) % NAMES;
                        r.n = r.n.wrapping_add(1);
                    },
                )),
                1 => out(s.players.modify_where(
                    db,
                    |r| r.n % 3 == k,
                    |r| {
                        r.n = r.n.wrapping_add(d);
                        if d % 2 == 1 {
                            r.mentor = None;
                        }
                    },
                )),
                2 => {
                    out(s
                        .badges
                        .modify_where(db, |r| r.n % 3 == k, |r| r.n = r.n.wrapping_add(d)))
                }
                _ => out(s.fans.modify_where(
                    db,
                    |r| r.n % 3 == k,
                    |r| {
                        r.team_name = d.checked_sub(1).map(|v| v % NAMES);
                    },
                )),
            }
        }
        Op::DeleteWhere { t, k } => {
            let k = *k;
            let r = match t {
                0 => s.teams.delete_where(db, |r| r.n % 4 == k),
                1 => s.players.delete_where(db, |r| r.n % 4 == k),
                2 => s.badges.delete_where(db, |r| r.n % 4 == k),
                _ => s.fans.delete_where(db, |r| r.n % 4 == k),
            };
            match r {
                Ok(r) => format!("Ok({})", report(&r)),
                Err(e) => format!("Err({e:?})"),
            }
        }
        Op::InsertMany { teams } => {
            let rows = teams.iter().map(|&(name, n)| Team { name, n });
            let r = s.teams.insert_many(db, rows);
            if let Ok(new) = &r {
                ids.teams.extend(new);
            }
            out(r)
        }
        Op::Upsert { name, n } => {
            let r = s.team_names.upsert(db, Team { name: *name, n: *n });
            if let Ok((id, true)) = r {
                ids.teams.push(id);
            }
            out(r)
        }
        Op::Txn { ops, fail, begin } => {
            let mut outs = Vec::new();
            if *begin {
                let mut tx = db.begin();
                for op in ops {
                    outs.push(execute(&mut tx, s, ids, op));
                }
                if *fail {
                    tx.rollback();
                } else {
                    tx.commit();
                }
            } else {
                let _ = db.transaction(|tx| {
                    for op in ops {
                        outs.push(execute(tx, s, ids, op));
                    }
                    if *fail { Err(()) } else { Ok(()) }
                });
            }
            format!("txn {outs:?}")
        }
        Op::Snapshot => "snapshot".into(),
    }
}
