//! Schema "restrict": RESTRICT and NO ACTION reached by the same cascade that would delete the
//! blocking row, against SQLite.
//!
//! An account has projects (`project.account`, ON DELETE CASCADE); five child tables reference
//! both an account (nullable) and a project, with every combination that matters:
//!
//! | table | `account` | `project` | deleting an account with such a row |
//! |-------|-----------|-----------|-------------------------------------|
//! | task  | CASCADE   | RESTRICT  | fails if the task's project is one of the account's |
//! | bill  | RESTRICT  | CASCADE   | fails, though the project cascade would delete the bill |
//! | memo  | NO ACTION | CASCADE   | succeeds if the project cascade deletes the memo |
//! | note  | CASCADE   | NO ACTION | succeeds if the account cascade deletes the note |
//! | flag  | SET NULL  | CASCADE   | nulled or deleted: deleted wins |
//!
//! relata's rule (`OnDelete::Restrict`): a referencing row blocks at once, even if the same
//! delete would remove it; only the rows the call itself was asked to delete do not block.
//! `NoAction` blocks only if the referencing row survives the whole delete.
//!
//! SQLite (3.4x, `foreign_keys = ON`) runs the actions of the foreign keys that reference a
//! table in reverse declaration order, the latest declared first, and checks RESTRICT when
//! its turn comes: whether the cascade has already removed the blocking row depends on that
//! order (see [`sqlite_restrict_depends_on_declaration_order`]). This schema is declared so
//! that every RESTRICT runs before the cascade that would remove its blocker: `bill` after
//! `project` (bill.account's RESTRICT runs before project.account's CASCADE), `task` before
//! `project` (project.account's CASCADE, and with it task.project's RESTRICT, runs before
//! task.account's CASCADE). In that order SQLite agrees with relata's rule; NO ACTION agrees in
//! any order. relata's own declaration order is part of each history (`reversed`): its result
//! must not depend on it.
//!
//! A multi-row delete whose rows block each other (a self-reference with RESTRICT) is where
//! relata deliberately differs from SQLite, which refuses it: this schema has none.

use std::any::Any;

use proptest::prelude::*;
use relata::{AssocOptions, Db, Error, HasMany, Id, Model, OnDelete, Table, Unlink, fk};

use crate::ids::Issued;
use crate::model::{Class, Dump, V};
use crate::sql::{Column, Sql};
use crate::{Out, Pick, Picks, choose, class, pick, picks};

pub const SCHEMA: &str = "
PRAGMA foreign_keys = ON;
CREATE TABLE account (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL);
-- Before project, which it references: see the module docs.
CREATE TABLE task    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      account INTEGER REFERENCES account(id) ON DELETE CASCADE,
                      project INTEGER NOT NULL REFERENCES project(id) ON DELETE RESTRICT);
CREATE TABLE project (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE);
CREATE TABLE bill    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      account INTEGER REFERENCES account(id) ON DELETE RESTRICT,
                      project INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE);
CREATE TABLE memo    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      account INTEGER REFERENCES account(id) ON DELETE NO ACTION,
                      project INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE);
CREATE TABLE note    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      account INTEGER REFERENCES account(id) ON DELETE CASCADE,
                      project INTEGER NOT NULL REFERENCES project(id) ON DELETE NO ACTION);
CREATE TABLE flag    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      account INTEGER REFERENCES account(id) ON DELETE SET NULL,
                      project INTEGER NOT NULL REFERENCES project(id) ON DELETE CASCADE);
";

const CHILD_COLUMNS: &[Column] = &[("account", Some("account")), ("project", Some("project"))];

pub const TABLES: [(&str, &[Column]); 7] = [
    ("account", &[("n", None)]),
    ("project", &[("account", Some("account"))]),
    ("task", CHILD_COLUMNS),
    ("bill", CHILD_COLUMNS),
    ("memo", CHILD_COLUMNS),
    ("note", CHILD_COLUMNS),
    ("flag", CHILD_COLUMNS),
];

/// The child tables, by kind; and their on-delete actions towards account and project.
const CHILDREN: [(&str, OnDelete, OnDelete); 5] = [
    ("task", OnDelete::Cascade, OnDelete::Restrict),
    ("bill", OnDelete::Restrict, OnDelete::Cascade),
    ("memo", OnDelete::NoAction, OnDelete::Cascade),
    ("note", OnDelete::Cascade, OnDelete::NoAction),
    ("flag", OnDelete::SetNull, OnDelete::Cascade),
];

#[derive(Clone, Debug)]
pub struct Account {
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Project {
    pub account: Id<Account>,
}
/// A row of child table `K` (an index into [`CHILDREN`]).
#[derive(Clone, Debug)]
pub struct Child<const K: usize> {
    pub account: Option<Id<Account>>,
    pub project: Id<Project>,
}

/// Runs `$body` with `$c` the row type of child kind `$kind` and `$k` its index.
macro_rules! by_kind {
    ($kind:expr, $c:ident, $k:ident => $body:expr) => {
        match $kind % CHILDREN.len() {
            0 => {
                const $k: usize = 0;
                type $c = Child<0>;
                $body
            }
            1 => {
                const $k: usize = 1;
                type $c = Child<1>;
                $body
            }
            2 => {
                const $k: usize = 2;
                type $c = Child<2>;
                $body
            }
            3 => {
                const $k: usize = 3;
                type $c = Child<3>;
                $body
            }
            _ => {
                const $k: usize = 4;
                type $c = Child<4>;
                $body
            }
        }
    };
}

pub struct Rel {
    pub db: Db,
    pub accounts: Table<Account>,
    pub projects: Table<Project>,
    pub account_projects: HasMany<Account, Project>,
    /// Per child kind `K`, its `HasMany<Account, Child<K>>`.
    to_account: Vec<Box<dyn Any>>,
    pub ids: Issued,
}

impl Rel {
    /// The schema, its associations declared in the order of the SQL schema's foreign keys
    /// (account's first), or in the reverse order.
    pub fn new(reversed: bool) -> Self {
        let mut db = Db::new();
        let accounts = db.create_table::<Account>().unwrap();
        let projects = db.create_table::<Project>().unwrap();
        for kind in 0..CHILDREN.len() {
            by_kind!(kind, C, _K => {
                db.create_table::<C>().unwrap();
            });
        }
        // (kind, to the account?) in declaration order; `None`: project.account.
        let mut order: Vec<Option<(usize, bool)>> = vec![Some((0, true)), Some((0, false)), None];
        for k in 1..CHILDREN.len() {
            order.extend([Some((k, true)), Some((k, false))]);
        }
        if reversed {
            order.reverse();
        }
        let mut account_projects = None;
        let mut to_account: Vec<Option<Box<dyn Any>>> = (0..CHILDREN.len()).map(|_| None).collect();
        for decl in order {
            match decl {
                None => {
                    let options = AssocOptions::new().on_delete(OnDelete::Cascade);
                    account_projects = Some(
                        db.has_many_with(accounts, projects, fk!(Project, account), options)
                            .unwrap(),
                    );
                }
                Some((kind, true)) => by_kind!(kind, C, K => {
                    let options = AssocOptions::new().on_delete(CHILDREN[K].1);
                    let table = db.table::<C>().unwrap();
                    let assoc = db.has_many_with(accounts, table, fk!(C, account), options).unwrap();
                    to_account[K] = Some(Box::new(assoc));
                }),
                Some((kind, false)) => by_kind!(kind, C, K => {
                    let options = AssocOptions::new().on_delete(CHILDREN[K].2);
                    let table = db.table::<C>().unwrap();
                    db.has_many_with(projects, table, fk!(C, project), options).unwrap();
                }),
            }
        }
        Rel {
            db,
            accounts,
            projects,
            account_projects: account_projects.unwrap(),
            to_account: to_account.into_iter().map(Option::unwrap).collect(),
            ids: Issued::default(),
        }
    }

    fn children<const K: usize>(&self) -> Table<Child<K>> {
        self.db.table().expect("declared")
    }

    fn to_account<const K: usize>(&self) -> HasMany<Account, Child<K>> {
        *self.to_account[K].downcast_ref().expect("declared")
    }

    pub fn dump(&self) -> Dump {
        let (db, ids) = (&self.db, &self.ids);
        let mut out = Dump::new();
        let rows = self.accounts.iter(db).unwrap();
        out.insert(
            "account",
            rows.map(|r| (ids.of(r.id()), vec![V::Int(r.n)])).collect(),
        );
        let rows = self.projects.iter(db).unwrap();
        out.insert(
            "project",
            rows.map(|r| (ids.of(r.id()), vec![V::Ref(ids.of(r.account))]))
                .collect(),
        );
        for kind in 0..CHILDREN.len() {
            by_kind!(kind, _C, K => {
                let rows = self.children::<K>().iter(db).unwrap().map(|r| {
                    let account = r.account.map_or(V::Null, |a| V::Ref(ids.of(a)));
                    (ids.of(r.id()), vec![account, V::Ref(ids.of(r.project))])
                });
                out.insert(CHILDREN[K].0, rows.collect());
            });
        }
        out
    }
}

#[derive(Clone, Debug)]
pub enum Op {
    InsertAccount {
        n: i64,
    },
    InsertProject {
        account: Pick,
    },
    /// A row of child kind `kind` (an index into the five child tables, modulo 5).
    Insert {
        kind: usize,
        account: Option<Pick>,
        project: Pick,
    },
    DeleteAccount {
        account: Pick,
    },
    DeleteProject {
        project: Pick,
    },
    Delete {
        kind: usize,
        row: Pick,
    },
    /// `account_projects.add`.
    MoveProject {
        project: Pick,
        account: Pick,
    },
    /// The child's `BelongsTo` account: `set`.
    MoveChild {
        kind: usize,
        row: Pick,
        account: Option<Pick>,
    },
    /// `account_projects.remove_many_with(.., Some(Unlink::Delete))`: several roots at once.
    DropProjects {
        account: Pick,
        projects: Picks,
    },
    /// `account_projects.set` (non-null: unlinking is a validation error), or with
    /// `Unlink::Delete` if `delete`.
    SetProjects {
        account: Pick,
        projects: Picks,
        delete: bool,
    },
}

pub fn op() -> impl Strategy<Value = Op> {
    let kind = 0..CHILDREN.len();
    prop_oneof![
        3 => (0..100i64).prop_map(|n| Op::InsertAccount { n }),
        4 => pick().prop_map(|account| Op::InsertProject { account }),
        8 => (kind.clone(), prop::option::weighted(0.9, pick()), pick())
            .prop_map(|(kind, account, project)| Op::Insert { kind, account, project }),
        3 => pick().prop_map(|account| Op::DeleteAccount { account }),
        2 => pick().prop_map(|project| Op::DeleteProject { project }),
        2 => (kind.clone(), pick()).prop_map(|(kind, row)| Op::Delete { kind, row }),
        1 => (pick(), pick()).prop_map(|(project, account)| Op::MoveProject { project, account }),
        1 => (kind, pick(), prop::option::of(pick()))
            .prop_map(|(kind, row, account)| Op::MoveChild { kind, row, account }),
        1 => (pick(), picks()).prop_map(|(account, projects)| Op::DropProjects { account, projects }),
        1 => (pick(), picks(), any::<bool>())
            .prop_map(|(account, projects, delete)| Op::SetProjects { account, projects, delete }),
    ]
}

struct Both {
    rel: Rel,
    sql: Sql,
}

impl Both {
    fn pick<T: Model>(&self, table: Table<T>, name: &str, p: Pick) -> Option<usize> {
        let live = self.rel.ids.live(&self.rel.db, table);
        choose(p, &live, self.sql.ids[name].len())
    }

    fn account(&self, p: Pick) -> Option<usize> {
        self.pick(self.rel.accounts, "account", p)
    }

    fn project(&self, p: Pick) -> Option<usize> {
        self.pick(self.rel.projects, "project", p)
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
            &Op::InsertAccount { n } => {
                let r = &mut self.rel;
                let got = r.accounts.insert(&mut r.db, Account { n });
                (
                    got.map(|id| Out::Index(r.ids.record(id))).map_err(class),
                    self.sql
                        .insert("account", &["n"], &[V::Int(n)])
                        .map(Out::Index),
                )
            }
            &Op::InsertProject { account } => {
                let a = need!(self.account(account));
                let r = &mut self.rel;
                let row = Project {
                    account: r.ids.id(a),
                };
                let got = r.projects.insert(&mut r.db, row);
                let values = [V::Int(self.sql.id("account", a))];
                (
                    got.map(|id| Out::Index(r.ids.record(id))).map_err(class),
                    self.sql
                        .insert("project", &["account"], &values)
                        .map(Out::Index),
                )
            }
            &Op::Insert {
                kind,
                account,
                project,
            } => by_kind!(kind, C, K => {
                let a = match account {
                    Some(p) => Some(need!(self.account(p))),
                    None => None,
                };
                let p = need!(self.project(project));
                let r = &mut self.rel;
                let row = C {
                    account: a.map(|a| r.ids.id(a)),
                    project: r.ids.id(p),
                };
                let got = r.children::<K>().insert(&mut r.db, row);
                let values = [
                    a.map_or(V::Null, |a| V::Int(self.sql.id("account", a))),
                    V::Int(self.sql.id("project", p)),
                ];
                (
                    got.map(|id| Out::Index(r.ids.record(id))).map_err(class),
                    self.sql
                        .insert(CHILDREN[K].0, &["account", "project"], &values)
                        .map(Out::Index),
                )
            }),
            &Op::DeleteAccount { account } => {
                let a = need!(self.account(account));
                let r = &mut self.rel;
                let got = r.accounts.delete(&mut r.db, r.ids.id::<Account>(a));
                (
                    got.map(|_| Out::Unit).map_err(class),
                    self.sql.delete("account", a).map(|()| Out::Unit),
                )
            }
            &Op::DeleteProject { project } => {
                let p = need!(self.project(project));
                let r = &mut self.rel;
                let got = r.projects.delete(&mut r.db, r.ids.id::<Project>(p));
                (
                    got.map(|_| Out::Unit).map_err(class),
                    self.sql.delete("project", p).map(|()| Out::Unit),
                )
            }
            &Op::Delete { kind, row } => by_kind!(kind, C, K => {
                let i = need!(self.pick(self.rel.children::<K>(), CHILDREN[K].0, row));
                let r = &mut self.rel;
                let got = r.children::<K>().delete(&mut r.db, r.ids.id::<C>(i));
                (
                    got.map(|_| Out::Unit).map_err(class),
                    self.sql.delete(CHILDREN[K].0, i).map(|()| Out::Unit),
                )
            }),
            &Op::MoveProject { project, account } => {
                let p = need!(self.project(project));
                let a = need!(self.account(account));
                let r = &mut self.rel;
                let got = r.account_projects.add(
                    &mut r.db,
                    r.ids.id::<Account>(a),
                    r.ids.id::<Project>(p),
                );
                let (aid, pid) = (self.sql.id("account", a), self.sql.id("project", p));
                let want = self
                    .sql
                    .exists("account", aid)
                    .and_then(|()| self.sql.exists("project", pid))
                    .and_then(|()| {
                        self.sql.atomic(false, |c| {
                            c.execute(
                                "UPDATE project SET account = ?1 WHERE id = ?2 AND account IS NOT ?1",
                                [aid, pid],
                            )
                        })
                    });
                (
                    got.map(Out::Bool).map_err(class),
                    want.map(|n| Out::Bool(n == 1)),
                )
            }
            &Op::MoveChild { kind, row, account } => by_kind!(kind, C, K => {
                let i = need!(self.pick(self.rel.children::<K>(), CHILDREN[K].0, row));
                let a = match account {
                    Some(p) => Some(need!(self.account(p))),
                    None => None,
                };
                let r = &mut self.rel;
                let got = r.to_account::<K>().inverse().set(
                    &mut r.db,
                    r.ids.id::<C>(i),
                    a.map(|a| r.ids.id::<Account>(a)),
                );
                let table = CHILDREN[K].0;
                let (cid, aid) = (self.sql.id(table, i), a.map(|a| self.sql.id("account", a)));
                let want = aid
                    .map_or(Ok(()), |aid| self.sql.exists("account", aid))
                    .and_then(|()| self.sql.exists(table, cid))
                    .and_then(|()| {
                        self.sql.atomic(false, |c| {
                            c.execute(
                                &format!("UPDATE {table} SET account = ?1 WHERE id = ?2"),
                                rusqlite::params![aid, cid],
                            )
                        })
                    });
                (
                    got.map(|()| Out::Unit).map_err(class),
                    want.map(|_| Out::Unit),
                )
            }),
            Op::DropProjects { account, projects }
            | Op::SetProjects {
                account, projects, ..
            } => {
                let a = need!(self.account(*account));
                let ps: Vec<usize> = need!(projects.0.iter().map(|&p| self.project(p)).collect());
                let r = &mut self.rel;
                let (aid, pids) = (
                    r.ids.id::<Account>(a),
                    ps.iter()
                        .map(|&p| r.ids.id::<Project>(p))
                        .collect::<Vec<_>>(),
                );
                let got = match op {
                    Op::SetProjects { delete, .. } => {
                        let policy = delete.then_some(Unlink::Delete);
                        r.account_projects.set_with(&mut r.db, aid, pids, policy)
                    }
                    _ => r.account_projects.remove_many_with(
                        &mut r.db,
                        aid,
                        pids,
                        Some(Unlink::Delete),
                    ),
                };
                let want = self.projects_sql(op, a, &ps);
                (got.map(Out::Count).map_err(class), want.map(Out::Count))
            }
        };
        assert_eq!(
            got, want,
            "relata (left) and SQLite (right) disagree on the result of {op:?}"
        );
    }

    /// `DropProjects` and `SetProjects` in SQL.
    fn projects_sql(&mut self, op: &Op, a: usize, ps: &[usize]) -> Result<usize, Class> {
        let aid = self.sql.id("account", a);
        self.sql.exists("account", aid)?;
        let mut pids: Vec<i64> = ps.iter().map(|&p| self.sql.id("project", p)).collect();
        pids.iter()
            .try_for_each(|&p| self.sql.exists("project", p))?;
        pids.sort_unstable();
        pids.dedup();
        let list = pids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let current: Vec<i64> = {
            let mut st = self
                .sql
                .conn
                .prepare("SELECT id FROM project WHERE account = ?1 ORDER BY id")
                .unwrap();
            st.query_map([aid], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        match op {
            Op::SetProjects { delete, .. } => {
                let unlink: Vec<String> = current
                    .iter()
                    .filter(|c| !pids.contains(c))
                    .map(i64::to_string)
                    .collect();
                let link: Vec<i64> = pids
                    .iter()
                    .copied()
                    .filter(|p| !current.contains(p))
                    .collect();
                let delete = *delete;
                self.sql.atomic_classed(|c| {
                    let mut n = 0;
                    if !unlink.is_empty() {
                        // One statement: the rows it deletes are the call's roots.
                        let list = unlink.join(", ");
                        n += if delete {
                            c.execute(&format!("DELETE FROM project WHERE id IN ({list})"), [])
                                .map_err(|e| crate::sql::class(e, true))?
                        } else {
                            c.execute(
                                &format!("UPDATE project SET account = NULL WHERE id IN ({list})"),
                                [],
                            )
                            .map_err(|e| crate::sql::class(e, false))?
                        };
                    }
                    for p in link {
                        n += c
                            .execute("UPDATE project SET account = ?1 WHERE id = ?2", [aid, p])
                            .map_err(|e| crate::sql::class(e, false))?;
                    }
                    Ok(n)
                })
            }
            _ => self.sql.atomic(true, |c| {
                c.execute(
                    &format!("DELETE FROM project WHERE account = ?1 AND id IN ({list})"),
                    [aid],
                )
            }),
        }
    }
}

/// Applies `history` to both sides (relata's associations declared in `reversed` order),
/// comparing after every step.
pub fn check(reversed: bool, history: &[Op]) {
    let mut both = Both {
        rel: Rel::new(reversed),
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

    /// Paste a failure's minimal history into `regressions.rs` as
    /// `restrict::check(reversed, &[...])`.
    #[test]
    fn restrict_agrees_with_sqlite(
        reversed in any::<bool>(),
        history in prop::collection::vec(op(), 1..48),
    ) {
        check(reversed, &history);
    }
}

/// Deletes the one account of `schema` (which declares account, project, bill and task in
/// some order, with one project, one bill and one task of that account), and reports whether
/// SQLite refused; the tables' row counts must then be unchanged.
fn sqlite_refuses(schema: &str) -> bool {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    conn.execute_batch(schema).unwrap();
    conn.execute_batch(
        "INSERT INTO account (id) VALUES (1);
         INSERT INTO project (id, account) VALUES (1, 1);
         INSERT INTO child (id, account, project) VALUES (1, 1, 1);",
    )
    .unwrap();
    let refused = conn
        .execute("DELETE FROM account WHERE id = 1", [])
        .is_err();
    let rows: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM account) + (SELECT count(*) FROM project)
                  + (SELECT count(*) FROM child)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, if refused { 3 } else { 0 });
    refused
}

/// What SQLite does when a RESTRICT's blocking row would also be deleted by the same cascade:
/// it depends on the order in which the foreign keys referencing the deleted table were
/// declared (the latest declared acts first). Pinned here so that a change of SQLite's
/// behaviour shows; relata's answer is the same in every order (below).
#[test]
fn sqlite_restrict_depends_on_declaration_order() {
    let account = "CREATE TABLE account (id INTEGER PRIMARY KEY);";
    let project = "CREATE TABLE project (id INTEGER PRIMARY KEY,
        account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE);";
    let shape = |to_account: &str, to_project: &str| {
        format!(
            "CREATE TABLE child (id INTEGER PRIMARY KEY,
                account INTEGER REFERENCES account(id) ON DELETE {to_account},
                project INTEGER NOT NULL REFERENCES project(id) ON DELETE {to_project});"
        )
    };
    // Like bill: account ← child RESTRICT, account ← project ← child CASCADE.
    let bill = shape("RESTRICT", "CASCADE");
    assert!(
        sqlite_refuses(&format!("{account}{project}{bill}")),
        "child declared after project: its RESTRICT is checked first, and blocks"
    );
    assert!(
        !sqlite_refuses(&format!("{account}{bill}{project}")),
        "child declared before project: the cascade through project deletes it first"
    );
    // Like task: account ← child CASCADE, account ← project ← child RESTRICT.
    let task = shape("CASCADE", "RESTRICT");
    assert!(
        sqlite_refuses(&format!("{account}{task}{project}")),
        "child declared before project: project goes first, and child blocks it"
    );
    assert!(
        !sqlite_refuses(&format!("{account}{project}{task}")),
        "child declared after project: the account cascade deletes it first"
    );
    // NO ACTION is checked when the statement ends: the same in either order.
    for (a, p) in [("NO ACTION", "CASCADE"), ("CASCADE", "NO ACTION")] {
        let no_action = shape(a, p);
        assert!(!sqlite_refuses(&format!("{account}{project}{no_action}")));
        assert!(!sqlite_refuses(&format!("{account}{no_action}{project}")));
    }
}

/// relata's rule in the shapes above, in both declaration orders: RESTRICT blocks though the
/// cascade would delete the blocking row, and changes nothing; NO ACTION lets it through.
#[test]
fn relata_restrict_is_immediate_in_either_declaration_order() {
    for reversed in [false, true] {
        for (kind, &(name, to_account, to_project)) in CHILDREN.iter().enumerate() {
            let mut rel = Rel::new(reversed);
            let db = &mut rel.db;
            let a = rel.accounts.insert(db, Account { n: 0 }).unwrap();
            let p = rel.projects.insert(db, Project { account: a }).unwrap();
            by_kind!(kind, C, K => {
                let row = C { account: Some(a), project: p };
                rel.children::<K>().insert(&mut rel.db, row).unwrap();
            });
            let result = rel.accounts.delete(&mut rel.db, a);
            if to_account == OnDelete::Restrict || to_project == OnDelete::Restrict {
                assert!(
                    matches!(result, Err(Error::Restricted { .. })),
                    "{name}: {result:?}"
                );
                assert_eq!(rel.accounts.len(&rel.db).unwrap(), 1);
                assert_eq!(rel.projects.len(&rel.db).unwrap(), 1);
                by_kind!(kind, _C, K => assert_eq!(rel.children::<K>().len(&rel.db).unwrap(), 1));
            } else {
                let report = result.unwrap().report;
                assert_eq!(report.total_deleted(), 3, "{name}");
            }
            rel.db.check_integrity().unwrap();
        }
    }
}
