//! Schema "keys": chains of ON UPDATE actions through attribute keys, against SQLite.
//!
//! `org.code` (unique) is referenced by `dept.org_code` (NOT NULL, itself unique, ON DELETE
//! CASCADE, ON UPDATE CASCADE), which is in turn the key `desk.dept_code` references (nullable,
//! ON DELETE SET NULL, ON UPDATE CASCADE): renaming an org renames its dept, which moves the
//! dept's desks, a cascade two keys long. Beside the chain, the other on-update actions:
//! `badge.org_code` (ON DELETE CASCADE, ON UPDATE SET NULL), `pin.dept_code` (ON DELETE NO
//! ACTION, ON UPDATE RESTRICT: reached through the chain when an org is renamed) and
//! `lock.org_code` (NOT NULL, ON DELETE RESTRICT, ON UPDATE NO ACTION).
//!
//! Every table has one foreign key, so no row is reached by two paths and SQLite's order of
//! actions cannot show. Codes are the four [`NAMES`], so renames collide often.
//!
//! Error classes: SQLite says "FOREIGN KEY constraint failed" both for a dangling key and for
//! a blocked change, so a failed DELETE is `Restricted` and any other failed statement
//! `ForeignKey`; relata's `Restricted` of an update (`Change::Update`, a blocked key change) is
//! compared as `ForeignKey` too.

use proptest::prelude::*;
use relata::{
    AssocOptions, Change, Db, Error, HasMany, Model, OnDelete, OnUpdate, Table, Unlink, field, fk,
};
use rusqlite::{OptionalExtension, params};

use crate::ids::Issued;
use crate::model::{Class, Dump, NAMES, V};
use crate::sql::{Column, R, Sql, class};
use crate::{Out, Pick, Picks, choose, pick, picks};

pub const SCHEMA: &str = "
PRAGMA foreign_keys = ON;
CREATE TABLE org   (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE,
                    n INTEGER NOT NULL);
CREATE TABLE dept  (id INTEGER PRIMARY KEY AUTOINCREMENT,
                    code TEXT NOT NULL UNIQUE
                         REFERENCES org(code) ON DELETE CASCADE ON UPDATE CASCADE,
                    n INTEGER NOT NULL);
CREATE TABLE desk  (id INTEGER PRIMARY KEY AUTOINCREMENT,
                    code TEXT REFERENCES dept(code) ON DELETE SET NULL ON UPDATE CASCADE,
                    n INTEGER NOT NULL);
CREATE INDEX desk_code ON desk(code);
CREATE TABLE badge (id INTEGER PRIMARY KEY AUTOINCREMENT,
                    code TEXT REFERENCES org(code) ON DELETE CASCADE ON UPDATE SET NULL,
                    n INTEGER NOT NULL);
CREATE INDEX badge_code ON badge(code);
CREATE TABLE pin   (id INTEGER PRIMARY KEY AUTOINCREMENT,
                    code TEXT REFERENCES dept(code) ON DELETE NO ACTION ON UPDATE RESTRICT,
                    n INTEGER NOT NULL);
CREATE INDEX pin_code ON pin(code);
CREATE TABLE lock  (id INTEGER PRIMARY KEY AUTOINCREMENT,
                    code TEXT NOT NULL
                         REFERENCES org(code) ON DELETE RESTRICT ON UPDATE NO ACTION,
                    n INTEGER NOT NULL);
CREATE INDEX lock_code ON lock(code);
";

const COLUMNS: &[Column] = &[("code", None), ("n", None)];

pub const TABLES: [(&str, &[Column]); 6] = [
    ("org", COLUMNS),
    ("dept", COLUMNS),
    ("desk", COLUMNS),
    ("badge", COLUMNS),
    ("pin", COLUMNS),
    ("lock", COLUMNS),
];

#[derive(Clone, Debug)]
pub struct Org {
    pub code: String,
    pub n: i64,
}
/// `org_code` is both the foreign key to `Org.code` and the unique key desks and pins follow.
#[derive(Clone, Debug)]
pub struct Dept {
    pub org_code: String,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Desk {
    pub dept_code: Option<String>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Badge {
    pub org_code: Option<String>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Pin {
    pub dept_code: Option<String>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Lock {
    pub org_code: String,
    pub n: i64,
}

/// The tables of this schema, all of the shape (code, n).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Org,
    Dept,
    Desk,
    Badge,
    Pin,
    Lock,
}

/// A row of this schema: its SQL table, and how it is made from and read as (code, n). A
/// non-null code given as `None` is the first name.
trait Coded: Model {
    const TABLE: &'static str;
    /// The table whose codes this one's reference.
    const REFERS: Option<Kind>;
    fn make(code: Option<usize>, n: i64) -> Self;
    fn code(&self) -> Option<&str>;
    fn n(&self) -> i64;
}

macro_rules! coded {
    ($($t:ident($table:literal, $field:ident, $nullable:tt, $refers:expr)),*) => {$(
        impl Coded for $t {
            const TABLE: &'static str = $table;
            const REFERS: Option<Kind> = $refers;
            fn make(code: Option<usize>, n: i64) -> Self {
                let code = code.map(|c| NAMES[c].to_string());
                coded!(@make $nullable, $t, $field, code, n)
            }
            fn code(&self) -> Option<&str> {
                coded!(@get $nullable, self.$field)
            }
            fn n(&self) -> i64 {
                self.n
            }
        }
    )*};
    (@make true, $t:ident, $field:ident, $code:ident, $n:ident) => {
        $t { $field: $code, n: $n }
    };
    (@make false, $t:ident, $field:ident, $code:ident, $n:ident) => {
        $t { $field: $code.unwrap_or_else(|| NAMES[0].to_string()), n: $n }
    };
    (@get true, $e:expr) => { $e.as_deref() };
    (@get false, $e:expr) => { Some($e.as_str()) };
}
coded!(
    Org("org", code, false, None),
    Dept("dept", org_code, false, Some(Kind::Org)),
    Desk("desk", dept_code, true, Some(Kind::Dept)),
    Badge("badge", org_code, true, Some(Kind::Org)),
    Pin("pin", dept_code, true, Some(Kind::Dept)),
    Lock("lock", org_code, false, Some(Kind::Org))
);

/// Runs `$body` with `$t` the row type of `$kind`.
macro_rules! by_kind {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            Kind::Org => {
                type $t = Org;
                $body
            }
            Kind::Dept => {
                type $t = Dept;
                $body
            }
            Kind::Desk => {
                type $t = Desk;
                $body
            }
            Kind::Badge => {
                type $t = Badge;
                $body
            }
            Kind::Pin => {
                type $t = Pin;
                $body
            }
            Kind::Lock => {
                type $t = Lock;
                $body
            }
        }
    };
}

pub struct Rel {
    pub db: Db,
    pub org_depts: HasMany<Org, Dept, String>,
    pub dept_desks: HasMany<Dept, Desk, String>,
    pub ids: Issued,
}

impl Rel {
    pub fn new() -> Self {
        let mut db = Db::new();
        let orgs = db.create_table::<Org>().unwrap();
        let depts = db.create_table::<Dept>().unwrap();
        let desks = db.create_table::<Desk>().unwrap();
        let badges = db.create_table::<Badge>().unwrap();
        let pins = db.create_table::<Pin>().unwrap();
        let locks = db.create_table::<Lock>().unwrap();
        let org_codes = db.unique(orgs, field!(Org, code)).unwrap();
        let dept_codes = db.unique(depts, field!(Dept, org_code)).unwrap();
        let options = |on_delete, on_update| {
            AssocOptions::new()
                .on_delete(on_delete)
                .on_update(on_update)
        };
        let org_depts = db
            .has_many_by(
                org_codes,
                depts,
                fk!(Dept, org_code),
                options(OnDelete::Cascade, OnUpdate::Cascade),
            )
            .unwrap();
        let dept_desks = db
            .has_many_by(
                dept_codes,
                desks,
                fk!(Desk, dept_code),
                options(OnDelete::SetNull, OnUpdate::Cascade),
            )
            .unwrap();
        db.has_many_by(
            org_codes,
            badges,
            fk!(Badge, org_code),
            options(OnDelete::Cascade, OnUpdate::SetNull),
        )
        .unwrap();
        db.has_many_by(
            dept_codes,
            pins,
            fk!(Pin, dept_code),
            options(OnDelete::NoAction, OnUpdate::Restrict),
        )
        .unwrap();
        db.has_many_by(
            org_codes,
            locks,
            fk!(Lock, org_code),
            options(OnDelete::Restrict, OnUpdate::NoAction),
        )
        .unwrap();
        Rel {
            db,
            org_depts,
            dept_desks,
            ids: Issued::default(),
        }
    }

    fn table<T: Model>(&self) -> Table<T> {
        self.db.table::<T>().expect("declared")
    }

    pub fn dump(&self) -> Dump {
        let mut out = Dump::new();
        for kind in [
            Kind::Org,
            Kind::Dept,
            Kind::Desk,
            Kind::Badge,
            Kind::Pin,
            Kind::Lock,
        ] {
            by_kind!(kind, T => {
                let rows = self
                    .table::<T>()
                    .iter(&self.db)
                    .unwrap()
                    .map(|r| (self.ids.of(r.id()), vec![name(r.code()), V::Int(r.n())]))
                    .collect();
                out.insert(T::TABLE, rows);
            });
        }
        out
    }
}

fn name(code: Option<&str>) -> V {
    code.map_or(V::Null, |c| {
        V::Name(NAMES.iter().position(|n| *n == c).unwrap())
    })
}

/// Names a code: if `live`, usually one a live row of the referenced table holds (so that
/// keys resolve); otherwise, or if there is none, `NAMES[n % 4]`.
#[derive(Clone, Copy, Debug)]
pub struct Code {
    pub live: bool,
    pub n: usize,
}

#[derive(Clone, Debug)]
pub enum Op {
    Insert {
        kind: Kind,
        code: Option<Code>,
        n: i64,
    },
    /// `Table::update`, or `Table::modify` if `modify`.
    Update {
        kind: Kind,
        row: Pick,
        code: Option<Code>,
        n: i64,
        modify: bool,
    },
    Delete {
        kind: Kind,
        row: Pick,
    },
    DesksOf {
        dept: Pick,
    },
    DesksAdd {
        dept: Pick,
        desks: Picks,
    },
    DesksRemove {
        dept: Pick,
        desks: Picks,
    },
    DesksSet {
        dept: Pick,
        desks: Picks,
    },
    /// The inverse `BelongsTo`'s get: a dept's org.
    OrgOf {
        dept: Pick,
    },
    /// `org_depts.add`: relinks a dept (whose key desks and pins follow) to another org.
    DeptMove {
        org: Pick,
        dept: Pick,
    },
    /// `org_depts.add_many`: a second dept moved to the same org breaks `dept.org_code`'s
    /// uniqueness.
    DeptsAdd {
        org: Pick,
        depts: Picks,
    },
    /// `org_depts.set` (non-null key: unlinking is a validation error), or with
    /// `Unlink::Delete` if `delete`.
    DeptsSet {
        org: Pick,
        depts: Picks,
        delete: bool,
    },
    /// `org_depts.remove_many_with(.., Some(Unlink::Delete))`.
    DeptsDrop {
        org: Pick,
        depts: Picks,
    },
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => Just(Kind::Org),
        3 => Just(Kind::Dept),
        3 => Just(Kind::Desk),
        1 => Just(Kind::Badge),
        1 => Just(Kind::Pin),
        1 => Just(Kind::Lock),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    let code = prop::option::weighted(
        0.9,
        (prop::bool::weighted(0.8), 0..NAMES.len()).prop_map(|(live, n)| Code { live, n }),
    );
    let small = 0..100i64;
    prop_oneof![
        8 => (kind(), code.clone(), small.clone()).prop_map(|(kind, code, n)| Op::Insert { kind, code, n }),
        5 => (kind(), pick(), code, small, any::<bool>())
            .prop_map(|(kind, row, code, n, modify)| Op::Update { kind, row, code, n, modify }),
        3 => (kind(), pick()).prop_map(|(kind, row)| Op::Delete { kind, row }),
        1 => pick().prop_map(|dept| Op::DesksOf { dept }),
        2 => (pick(), picks()).prop_map(|(dept, desks)| Op::DesksAdd { dept, desks }),
        1 => (pick(), picks()).prop_map(|(dept, desks)| Op::DesksRemove { dept, desks }),
        1 => (pick(), picks()).prop_map(|(dept, desks)| Op::DesksSet { dept, desks }),
        1 => pick().prop_map(|dept| Op::OrgOf { dept }),
        2 => (pick(), pick()).prop_map(|(org, dept)| Op::DeptMove { org, dept }),
        1 => (pick(), picks()).prop_map(|(org, depts)| Op::DeptsAdd { org, depts }),
        1 => (pick(), picks(), any::<bool>())
            .prop_map(|(org, depts, delete)| Op::DeptsSet { org, depts, delete }),
        1 => (pick(), picks()).prop_map(|(org, depts)| Op::DeptsDrop { org, depts }),
    ]
}

/// relata's error class; a blocked key change is compared as SQLite's `ForeignKey` (see the
/// module docs).
fn rclass(e: Error) -> Class {
    match e {
        Error::Restricted {
            change: Change::Update,
            ..
        } => Class::ForeignKey,
        other => crate::class(other),
    }
}

/// The SQLite side's association reads and writes.
impl Sql {
    fn code_of(&self, table: &str, id: i64) -> Option<String> {
        self.conn
            .query_row(
                &format!("SELECT code FROM {table} WHERE id = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// The rowids of `table`'s rows holding `code`, in creation order.
    fn holding(&self, table: &str, code: &str) -> Vec<i64> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT id FROM {table} WHERE code = ?1 ORDER BY id"
            ))
            .unwrap();
        st.query_map([code], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The rowid of `source` in `sources` and of each of `targets` in `table`, after checking
    /// that they exist (`NotFound` otherwise, the source first), and the source's code.
    fn args(
        &self,
        sources: &str,
        source: usize,
        table: &str,
        targets: &[usize],
    ) -> R<(String, Vec<i64>)> {
        let s = self.id(sources, source);
        self.exists(sources, s)?;
        let ts: Vec<i64> = targets.iter().map(|&t| self.id(table, t)).collect();
        ts.iter().try_for_each(|&t| self.exists(table, t))?;
        Ok((self.code_of(sources, s).unwrap(), ts))
    }

    /// Points the listed rows of `table` not holding `code` at it, once each, in the order
    /// given; returns how many changed.
    fn point_all(c: &rusqlite::Connection, table: &str, code: &str, ids: &[i64]) -> R<usize> {
        let mut n = 0;
        let mut seen = Vec::new();
        for &id in ids {
            if !seen.contains(&id) {
                seen.push(id);
                n += c
                    .execute(
                        &format!("UPDATE {table} SET code = ?1 WHERE id = ?2 AND code IS NOT ?1"),
                        params![code, id],
                    )
                    .map_err(|e| class(e, false))?;
            }
        }
        Ok(n)
    }

    /// `set`: rows of `table` holding `code` but not listed are unlinked (nulled, or deleted if
    /// `delete`); then the listed ones not holding it are pointed at it, in creation order.
    fn set_all(&mut self, table: &str, code: &str, ids: &[i64], delete: bool) -> R<usize> {
        let current = self.holding(table, code);
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let unlink: Vec<i64> = current
            .iter()
            .copied()
            .filter(|c| !wanted.contains(c))
            .collect();
        let link: Vec<i64> = wanted
            .into_iter()
            .filter(|w| !current.contains(w))
            .collect();
        self.atomic_classed(|c| {
            for &u in &unlink {
                if delete {
                    c.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [u])
                        .map_err(|e| class(e, true))?;
                } else {
                    c.execute(
                        &format!("UPDATE {table} SET code = NULL WHERE id = ?1"),
                        [u],
                    )
                    .map_err(|e| class(e, false))?;
                }
            }
            Sql::point_all(c, table, code, &link).map(|n| n + unlink.len())
        })
    }
}

struct Both {
    rel: Rel,
    sql: Sql,
}

impl Both {
    fn pick<T: Model + Coded>(&self, p: Pick) -> Option<usize> {
        let live = self.rel.ids.live(&self.rel.db, self.rel.table::<T>());
        choose(p, &live, self.sql.ids[T::TABLE].len())
    }

    /// The index into [`NAMES`] of the code `code` names for a row of `T`.
    fn code<T: Coded>(&self, code: Option<Code>) -> Option<usize> {
        let code = code?;
        let held: Vec<usize> = match T::REFERS {
            Some(refers) if code.live => by_kind!(refers, U => {
                let rows = self.rel.table::<U>().iter(&self.rel.db).unwrap();
                rows.filter_map(|r| r.code().map(|c| NAMES.iter().position(|n| *n == c).unwrap()))
                    .collect()
            }),
            _ => Vec::new(),
        };
        Some(if held.is_empty() {
            code.n % NAMES.len()
        } else {
            held[code.n % held.len()]
        })
    }

    fn picks<T: Model + Coded>(&self, ps: &Picks) -> Option<Vec<usize>> {
        ps.0.iter().map(|&p| self.pick::<T>(p)).collect()
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
        let (got, want): (Result<Out, Class>, Result<Out, Class>) = match op {
            &Op::Insert { kind, code, n } => by_kind!(kind, T => {
                let code = self.code::<T>(code);
                let r = &mut self.rel;
                let got = r
                    .table::<T>()
                    .insert(&mut r.db, T::make(code, n))
                    .map(|id| Out::Index(r.ids.record(id)))
                    .map_err(rclass);
                let row = T::make(code, n);
                let values = [name(row.code()), V::Int(n)];
                (got, self.sql.insert(T::TABLE, &["code", "n"], &values).map(Out::Index))
            }),
            &Op::Update {
                kind,
                row,
                code,
                n,
                modify,
            } => by_kind!(kind, T => {
                let i = need!(self.pick::<T>(row));
                let code = self.code::<T>(code);
                let r = &mut self.rel;
                let (table, id) = (r.table::<T>(), r.ids.id::<T>(i));
                let got = if modify {
                    table.modify(&mut r.db, id, |row| *row = T::make(code, n))
                } else {
                    table.update(&mut r.db, id, T::make(code, n)).map(drop)
                };
                let row = T::make(code, n);
                let values = [name(row.code()), V::Int(n)];
                (
                    got.map(|()| Out::Unit).map_err(rclass),
                    self.sql.update(T::TABLE, i, &["code", "n"], &values).map(|()| Out::Unit),
                )
            }),
            &Op::Delete { kind, row } => by_kind!(kind, T => {
                let i = need!(self.pick::<T>(row));
                let r = &mut self.rel;
                let got = r.table::<T>().delete(&mut r.db, r.ids.id::<T>(i));
                (
                    got.map(|_| Out::Unit).map_err(rclass),
                    self.sql.delete(T::TABLE, i).map(|()| Out::Unit),
                )
            }),
            &Op::DesksOf { dept } => {
                let d = need!(self.pick::<Dept>(dept));
                let r = &self.rel;
                let got = r
                    .dept_desks
                    .get(&r.db, r.ids.id::<Dept>(d))
                    .map(|rows| Out::Indexes(rows.map(|row| r.ids.of(row.id())).collect()))
                    .map_err(rclass);
                let want = self.sql.args("dept", d, "desk", &[]).map(|(code, _)| {
                    let ids = self.sql.holding("desk", &code);
                    Out::Indexes(ids.iter().map(|&id| self.sql.index("desk", id)).collect())
                });
                (got, want)
            }
            Op::DesksAdd { dept, desks }
            | Op::DesksRemove { dept, desks }
            | Op::DesksSet { dept, desks } => {
                let d = need!(self.pick::<Dept>(*dept));
                let ks = need!(self.picks::<Desk>(desks));
                let r = &mut self.rel;
                let (did, kids) = (
                    r.ids.id::<Dept>(d),
                    ks.iter().map(|&k| r.ids.id::<Desk>(k)).collect::<Vec<_>>(),
                );
                let got = match op {
                    Op::DesksAdd { .. } => r.dept_desks.add_many(&mut r.db, did, kids),
                    Op::DesksRemove { .. } => r.dept_desks.remove_many(&mut r.db, did, kids),
                    _ => r.dept_desks.set(&mut r.db, did, kids),
                };
                let want = self
                    .sql
                    .args("dept", d, "desk", &ks)
                    .and_then(|(code, ids)| match op {
                        Op::DesksAdd { .. } => self
                            .sql
                            .atomic_classed(|c| Sql::point_all(c, "desk", &code, &ids)),
                        Op::DesksRemove { .. } => self.sql.atomic(false, |c| {
                            let mut n = 0;
                            for id in ids {
                                n += c.execute(
                                    "UPDATE desk SET code = NULL WHERE id = ?1 AND code = ?2",
                                    params![id, code],
                                )?;
                            }
                            Ok(n)
                        }),
                        _ => self.sql.set_all("desk", &code, &ids, false),
                    });
                (got.map(Out::Count).map_err(rclass), want.map(Out::Count))
            }
            &Op::OrgOf { dept } => {
                let d = need!(self.pick::<Dept>(dept));
                let r = &self.rel;
                let got = r
                    .org_depts
                    .inverse()
                    .get(&r.db, r.ids.id::<Dept>(d))
                    .map(|org| Out::Maybe(org.map(|o| r.ids.of(o.id()))))
                    .map_err(rclass);
                let want = self.sql.args("dept", d, "org", &[]).map(|(code, _)| {
                    let org: Option<i64> = self
                        .sql
                        .conn
                        .query_row("SELECT id FROM org WHERE code = ?1", [code], |r| r.get(0))
                        .optional()
                        .unwrap();
                    Out::Maybe(org.map(|id| self.sql.index("org", id)))
                });
                (got, want)
            }
            &Op::DeptMove { org, dept } => {
                let o = need!(self.pick::<Org>(org));
                let d = need!(self.pick::<Dept>(dept));
                let r = &mut self.rel;
                let got = r
                    .org_depts
                    .add(&mut r.db, r.ids.id::<Org>(o), r.ids.id::<Dept>(d))
                    .map(Out::Bool)
                    .map_err(rclass);
                let want = self
                    .sql
                    .args("org", o, "dept", &[d])
                    .and_then(|(code, ids)| {
                        self.sql
                            .atomic_classed(|c| Sql::point_all(c, "dept", &code, &ids))
                            .map(|n| Out::Bool(n == 1))
                    });
                (got, want)
            }
            Op::DeptsAdd { org, depts }
            | Op::DeptsSet { org, depts, .. }
            | Op::DeptsDrop { org, depts } => {
                let o = need!(self.pick::<Org>(*org));
                let ds = need!(self.picks::<Dept>(depts));
                let r = &mut self.rel;
                let (oid, dids) = (
                    r.ids.id::<Org>(o),
                    ds.iter().map(|&d| r.ids.id::<Dept>(d)).collect::<Vec<_>>(),
                );
                let got = match op {
                    Op::DeptsAdd { .. } => r.org_depts.add_many(&mut r.db, oid, dids),
                    Op::DeptsSet { delete, .. } => {
                        let policy = delete.then_some(Unlink::Delete);
                        r.org_depts.set_with(&mut r.db, oid, dids, policy)
                    }
                    _ => r
                        .org_depts
                        .remove_many_with(&mut r.db, oid, dids, Some(Unlink::Delete)),
                };
                let want = self
                    .sql
                    .args("org", o, "dept", &ds)
                    .and_then(|(code, ids)| {
                        match op {
                            Op::DeptsAdd { .. } => {
                                // relata relinks in creation order; so does this.
                                let mut ids = ids;
                                ids.sort_unstable();
                                self.sql
                                    .atomic_classed(|c| Sql::point_all(c, "dept", &code, &ids))
                            }
                            Op::DeptsSet { delete, .. } => {
                                self.sql.set_all("dept", &code, &ids, *delete)
                            }
                            _ => {
                                let list = ids.iter().map(i64::to_string).collect::<Vec<_>>();
                                let sql = format!(
                                    "DELETE FROM dept WHERE code = ?1 AND id IN ({})",
                                    list.join(", ")
                                );
                                self.sql.atomic(true, |c| c.execute(&sql, [&code]))
                            }
                        }
                    });
                (got.map(Out::Count).map_err(rclass), want.map(Out::Count))
            }
        };
        assert_eq!(
            got, want,
            "relata (left) and SQLite (right) disagree on the result of {op:?}"
        );
    }
}

/// Applies `history` to both sides, comparing after every step.
pub fn check(history: &[Op]) {
    let mut both = Both {
        rel: Rel::new(),
        sql: Sql::open(SCHEMA, &TABLES),
    };
    for op in history {
        both.step(op);
        if let Err(e) = both.rel.db.check_integrity() {
            panic!("relata's integrity check after {op:?}: {e}");
        }
        assert_eq!(
            both.rel.dump(),
            both.sql.dump(),
            "relata (left) and SQLite (right) disagree on the contents after {op:?}"
        );
    }
}

proptest! {
    #![proptest_config(crate::config())]

    /// Paste a failure's minimal history into `regressions.rs` as `keys::check(&[...])`.
    #[test]
    fn key_chains_agree_with_sqlite(history in prop::collection::vec(op(), 1..48)) {
        check(&history);
    }
}
