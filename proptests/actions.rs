//! Referential actions, HasOne and BelongsToMany against [`Actions`], a naive reference.
//!
//! Schema (three levels below Org, a self-reference, every on-delete action):
//! Org ─Cascade→ Team ─SetNull→ Member ─Restrict→ Task; Team ─NoAction→ Badge;
//! Team.parent → Team (Cascade; cycles allowed); Member ─HasOne, SetNull→ Desk;
//! Member ↔ Project through Assignment { hours } (BelongsToMany).
//!
//! After every operation: the result equals the reference's; `check_integrity` finds no drifted
//! index, no dangling key, no duplicate pair and no second HasOne target; the whole database
//! equals the reference; a failed operation left it unchanged.

use std::collections::HashMap;

use proptest::prelude::*;
use relata::{BelongsToMany, Db, Error, HasMany, HasOne, Id, Table};

use crate::actions_reference::*;
use crate::reference::Fail;

#[derive(Clone, Debug)]
struct Org {
    n: u8,
}
#[derive(Clone, Debug)]
struct Team {
    org: Id<Org>,
    parent: Option<Id<Team>>,
    n: u8,
}
#[derive(Clone, Debug)]
struct Member {
    team: Option<Id<Team>>,
    n: u8,
}
#[derive(Clone, Debug)]
struct Task {
    member: Id<Member>,
    n: u8,
}
#[derive(Clone, Debug)]
struct Badge {
    team: Option<Id<Team>>,
    n: u8,
}
#[derive(Clone, Debug)]
struct Desk {
    member: Option<Id<Member>>,
    n: u8,
}
#[derive(Clone, Debug)]
struct Project {
    n: u8,
}
#[derive(Clone, Debug, Default, PartialEq)]
struct Assignment {
    member: Id<Member>,
    project: Id<Project>,
    n: u8,
}

/// Ids issued per table, by creation index.
#[derive(Default)]
struct Ids {
    orgs: Vec<Id<Org>>,
    teams: Vec<Id<Team>>,
    members: Vec<Id<Member>>,
    tasks: Vec<Id<Task>>,
    badges: Vec<Id<Badge>>,
    desks: Vec<Id<Desk>>,
    projects: Vec<Id<Project>>,
    assignments: Vec<Id<Assignment>>,
    index: HashMap<(usize, u64), usize>,
}

/// A model of the schema: its table number, its ids, and its conversion to generic rows.
trait Tab: relata::Model + std::fmt::Debug {
    const TABLE: usize;
    fn ids(ids: &mut Ids) -> &mut Vec<Id<Self>>;
    fn to_row(&self, ids: &Ids) -> Row;
    fn from_row(row: &Row, ids: &mut Ids) -> Self;
}

fn ix<T>(ids: &Ids, table: usize, id: Id<T>) -> usize {
    ids.index[&(table, id.seq())]
}

macro_rules! tab {
    ($t:ty, $table:expr, $field:ident, |$s:ident, $i:ident| $to:expr, |$r:ident, $j:ident| $from:expr) => {
        impl Tab for $t {
            const TABLE: usize = $table;
            fn ids(ids: &mut Ids) -> &mut Vec<Id<Self>> {
                &mut ids.$field
            }
            fn to_row(&self, $i: &Ids) -> Row {
                let $s = self;
                $to
            }
            fn from_row($r: &Row, $j: &mut Ids) -> Self {
                $from
            }
        }
    };
}

tab!(
    Org,
    ORG,
    orgs,
    |s, _i| Row {
        fks: vec![],
        payload: s.n
    },
    |r, _j| Org { n: r.payload }
);
tab!(
    Team,
    TEAM,
    teams,
    |s, i| Row {
        fks: vec![Some(ix(i, ORG, s.org)), s.parent.map(|p| ix(i, TEAM, p))],
        payload: s.n
    },
    |r, j| Team {
        org: j.orgs[r.fks[0].unwrap()],
        parent: r.fks[1].map(|p| j.teams[p]),
        n: r.payload
    }
);
tab!(
    Member,
    MEMBER,
    members,
    |s, i| Row {
        fks: vec![s.team.map(|t| ix(i, TEAM, t))],
        payload: s.n
    },
    |r, j| Member {
        team: r.fks[0].map(|t| j.teams[t]),
        n: r.payload
    }
);
tab!(
    Task,
    TASK,
    tasks,
    |s, i| Row {
        fks: vec![Some(ix(i, MEMBER, s.member))],
        payload: s.n
    },
    |r, j| Task {
        member: j.members[r.fks[0].unwrap()],
        n: r.payload
    }
);
tab!(
    Badge,
    BADGE,
    badges,
    |s, i| Row {
        fks: vec![s.team.map(|t| ix(i, TEAM, t))],
        payload: s.n
    },
    |r, j| Badge {
        team: r.fks[0].map(|t| j.teams[t]),
        n: r.payload
    }
);
tab!(
    Desk,
    DESK,
    desks,
    |s, i| Row {
        fks: vec![s.member.map(|m| ix(i, MEMBER, m))],
        payload: s.n
    },
    |r, j| Desk {
        member: r.fks[0].map(|m| j.members[m]),
        n: r.payload
    }
);
tab!(
    Project,
    PROJECT,
    projects,
    |s, _i| Row {
        fks: vec![],
        payload: s.n
    },
    |r, _j| Project { n: r.payload }
);
tab!(
    Assignment,
    ASSIGNMENT,
    assignments,
    |s, i| Row {
        fks: vec![
            Some(ix(i, MEMBER, s.member)),
            Some(ix(i, PROJECT, s.project))
        ],
        payload: s.n
    },
    |r, j| Assignment {
        member: j.members[r.fks[0].unwrap()],
        project: j.projects[r.fks[1].unwrap()],
        n: r.payload
    }
);

impl Ids {
    fn record<T: Tab>(&mut self, id: Id<T>) -> usize {
        let list = T::ids(self);
        list.push(id);
        let i = list.len() - 1;
        self.index.insert((T::TABLE, id.seq()), i);
        i
    }
}

/// The schema, declared by the derive: every association kind and referential action.
#[derive(relata::Schema)]
struct Schema {
    orgs: Table<Org>,
    teams: Table<Team>,
    members: Table<Member>,
    tasks: Table<Task>,
    badges: Table<Badge>,
    desks: Table<Desk>,
    projects: Table<Project>,
    assignments: Table<Assignment>,
    #[has_many(key = org)]
    org_teams: HasMany<Org, Team>,
    #[has_many(key = parent, on_delete = Cascade)]
    subteams: HasMany<Team, Team>,
    #[has_many(key = team)]
    team_members: HasMany<Team, Member>,
    #[has_many(key = member, on_delete = Restrict)]
    member_tasks: HasMany<Member, Task>,
    #[has_many(key = team, on_delete = NoAction)]
    team_badges: HasMany<Team, Badge>,
    #[has_one(key = member)]
    desk: HasOne<Member, Desk>,
    #[belongs_to_many(key = member, other_key = project)]
    works_on: BelongsToMany<Member, Project, Assignment>,
}

fn schema() -> (Schema, Db) {
    let (db, schema) = Schema::new().unwrap();
    (schema, db)
}

#[derive(Clone, Copy, Debug)]
struct Pick {
    live: bool,
    n: usize,
}

fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), any::<usize>()).prop_map(|(live, n)| Pick { live, n })
}

fn resolve(model: &Actions, table: usize, p: Pick) -> Option<usize> {
    let rows = &model.tables[table];
    if p.live {
        let live: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_some()).collect();
        if !live.is_empty() {
            return Some(live[p.n % live.len()]);
        }
    }
    (!rows.is_empty()).then(|| p.n % rows.len())
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        table: usize,
        fks: [Option<Pick>; 2],
        payload: u8,
    },
    Update {
        table: usize,
        row: Pick,
        fks: [Option<Pick>; 2],
        payload: u8,
    },
    Delete {
        table: usize,
        row: Pick,
    },
    SetDesk(Pick, Option<Pick>),
    CreateDesk(Pick, u8),
    GetDesk(Pick),
    AddProject(Pick, Pick, Option<u8>),
    RemoveProjects(Pick, Vec<Pick>),
    SetProjects(Pick, Vec<Pick>),
    HasProjects(Pick, Vec<Pick>),
    Projects(Pick),
    SetMembers(Pick, Vec<Pick>),
}

fn fks() -> impl Strategy<Value = [Option<Pick>; 2]> {
    [
        prop::option::weighted(0.85, pick()),
        prop::option::weighted(0.85, pick()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let table = 0..TABLES;
    let picks = || prop::collection::vec(pick(), 0..4);
    prop_oneof![
        8 => (table.clone(), fks(), any::<u8>()).prop_map(|(table, fks, payload)| Op::Insert { table, fks, payload }),
        2 => (table.clone(), pick(), fks(), any::<u8>())
            .prop_map(|(table, row, fks, payload)| Op::Update { table, row, fks, payload }),
        3 => (table, pick()).prop_map(|(table, row)| Op::Delete { table, row }),
        2 => (pick(), prop::option::of(pick())).prop_map(|(m, d)| Op::SetDesk(m, d)),
        1 => (pick(), any::<u8>()).prop_map(|(m, n)| Op::CreateDesk(m, n)),
        1 => pick().prop_map(Op::GetDesk),
        2 => (pick(), pick(), prop::option::of(any::<u8>())).prop_map(|(m, p, h)| Op::AddProject(m, p, h)),
        1 => (pick(), picks()).prop_map(|(m, ps)| Op::RemoveProjects(m, ps)),
        1 => (pick(), picks()).prop_map(|(m, ps)| Op::SetProjects(m, ps)),
        1 => (pick(), picks()).prop_map(|(m, ps)| Op::HasProjects(m, ps)),
        1 => pick().prop_map(Op::Projects),
        1 => (pick(), picks()).prop_map(|(t, ms)| Op::SetMembers(t, ms)),
    ]
}

/// Mostly single operations; now and then one insert repeated 8–15 times, so that a source
/// gets a large bucket: any table's rows, or an org and teams under one org (and under one
/// parent team, when their picks agree), sometimes followed by a delete of that org, whose cascade then
/// empties the bucket (in one step: the write path's `DROP_AT`).
fn ops() -> impl Strategy<Value = Vec<Op>> {
    let burst = (0..TABLES, fks(), any::<u8>(), 8..16usize).prop_map(|(table, fks, payload, n)| {
        vec![
            Op::Insert {
                table,
                fks,
                payload
            };
            n
        ]
    });
    let teams =
        (fks(), any::<u8>(), 8..16usize, any::<bool>()).prop_map(|(fks, payload, n, delete)| {
            let org = Op::Insert {
                table: ORG,
                fks: [None, None],
                payload,
            };
            let mut ops = vec![org];
            ops.extend(vec![
                Op::Insert {
                    table: TEAM,
                    fks,
                    payload
                };
                n
            ]);
            if delete {
                // The org the teams were given (`row_for`'s fallback for a missing pick).
                let row = fks[0].unwrap_or(Pick { live: true, n: 0 });
                ops.push(Op::Delete { table: ORG, row });
            }
            ops
        });
    let step = prop_oneof![
        24 => op().prop_map(|op| vec![op]),
        1 => burst,
        2 => teams,
    ];
    prop::collection::vec(step, 1..48).prop_map(|steps| steps.concat())
}

fn class(e: Error) -> Err {
    match e {
        Error::NotFound { .. } => Err::Base(Fail::NotFound),
        Error::Validation { .. } => Err::Base(Fail::Validation),
        Error::ForeignKey { .. } => Err::Base(Fail::ForeignKey),
        Error::Unique { .. } => Err::Unique,
        Error::Restricted { .. } => Err::Restricted,
        other => panic!("unexpected error class: {other}"),
    }
}

#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Index(usize),
    Bool(bool),
    Count(usize),
    Desk(Option<usize>),
    Projects(Vec<(usize, u8)>),
}

struct Run {
    s: Schema,
    db: Db,
    ids: Ids,
    model: Actions,
}

impl Run {
    fn dump_table<T: Tab>(&self, table: Table<T>, db: &Db, out: &mut Actions) {
        let mut rows = vec![
            None;
            self.model.tables[T::TABLE]
                .len()
                .max(self.ids_len(T::TABLE))
        ];
        for row in table.iter(db).unwrap() {
            rows[ix(&self.ids, T::TABLE, row.id())] = Some(row.value().to_row(&self.ids));
        }
        out.tables[T::TABLE] = rows;
    }

    fn ids_len(&self, table: usize) -> usize {
        self.ids.index.keys().filter(|(t, _)| *t == table).count()
    }

    fn dump(&self, db: &Db) -> Actions {
        let mut out = Actions::default();
        self.dump_table(self.s.orgs, db, &mut out);
        self.dump_table(self.s.teams, db, &mut out);
        self.dump_table(self.s.members, db, &mut out);
        self.dump_table(self.s.tasks, db, &mut out);
        self.dump_table(self.s.badges, db, &mut out);
        self.dump_table(self.s.desks, db, &mut out);
        self.dump_table(self.s.projects, db, &mut out);
        self.dump_table(self.s.assignments, db, &mut out);
        out
    }

    /// The generic row an insert or update writes: foreign keys resolved against the
    /// reference (a `None` pick on a non-null key falls back to a pick of row 0).
    fn row_for(&self, table: usize, fks: &[Option<Pick>; 2], payload: u8) -> Option<Row> {
        let mut out = Vec::new();
        for (slot, fk) in fks.iter().enumerate().take(ARITY[table]) {
            let edge = EDGES
                .iter()
                .find(|e| e.child == table && e.slot == slot)
                .unwrap();
            let choice = match *fk {
                None if edge.nullable => None,
                pick => Some(resolve(
                    &self.model,
                    edge.parent,
                    pick.unwrap_or(Pick { live: true, n: 0 }),
                )?),
            };
            out.push(choice);
        }
        Some(Row { fks: out, payload })
    }

    fn insert<T: Tab>(&mut self, table: Table<T>, row: &Row) -> Result<usize, Err> {
        let value = T::from_row(row, &mut self.ids);
        let id = table.insert(&mut self.db, value).map_err(class)?;
        Ok(self.ids.record(id))
    }

    fn update<T: Tab>(&mut self, table: Table<T>, i: usize, row: &Row) -> Result<(), Err> {
        let value = T::from_row(row, &mut self.ids);
        let id = T::ids(&mut self.ids)[i];
        table
            .update(&mut self.db, id, value)
            .map(drop)
            .map_err(class)
    }

    fn delete<T: Tab>(&mut self, table: Table<T>, i: usize) -> Result<(), Err> {
        let id = T::ids(&mut self.ids)[i];
        table.delete(&mut self.db, id).map(drop).map_err(class)
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
            ($table:expr, $method:ident, $($arg:expr),*) => {
                match $table {
                    ORG => self.$method(self.s.orgs, $($arg),*),
                    TEAM => self.$method(self.s.teams, $($arg),*),
                    MEMBER => self.$method(self.s.members, $($arg),*),
                    TASK => self.$method(self.s.tasks, $($arg),*),
                    BADGE => self.$method(self.s.badges, $($arg),*),
                    DESK => self.$method(self.s.desks, $($arg),*),
                    PROJECT => self.$method(self.s.projects, $($arg),*),
                    _ => self.$method(self.s.assignments, $($arg),*),
                }
            };
        }
        let r = |run: &Run, table, p| resolve(&run.model, table, p);
        let rs = |run: &Run, table, ps: &[Pick]| -> Option<Vec<usize>> {
            ps.iter().map(|&p| r(run, table, p)).collect()
        };
        let (got, want): (Result<Out, Err>, Result<Out, Err>) = match op {
            Op::Insert {
                table,
                fks,
                payload,
            } => {
                let row = need!(self.row_for(*table, fks, *payload));
                let got = on_table!(*table, insert, &row).map(Out::Index);
                (got, self.model.insert(*table, row).map(Out::Index))
            }
            Op::Update {
                table,
                row: p,
                fks,
                payload,
            } => {
                let i = need!(r(self, *table, *p));
                let row = need!(self.row_for(*table, fks, *payload));
                let got = on_table!(*table, update, i, &row).map(|_| Out::Unit);
                (got, self.model.update(*table, i, row).map(|_| Out::Unit))
            }
            Op::Delete { table, row: p } => {
                let i = need!(r(self, *table, *p));
                let got = on_table!(*table, delete, i).map(|_| Out::Unit);
                (got, self.model.delete(*table, i).map(|_| Out::Unit))
            }
            Op::SetDesk(m, d) => {
                let m = need!(r(self, MEMBER, *m));
                let d = match d {
                    Some(d) => Some(need!(r(self, DESK, *d))),
                    None => None,
                };
                let got = self.s.desk.set(
                    &mut self.db,
                    self.ids.members[m],
                    d.map(|d| self.ids.desks[d]),
                );
                (
                    got.map(|_| Out::Unit).map_err(class),
                    self.model.set_desk(m, d).map(|_| Out::Unit),
                )
            }
            Op::CreateDesk(m, n) => {
                let m = need!(r(self, MEMBER, *m));
                let got = self.s.desk.create(
                    &mut self.db,
                    self.ids.members[m],
                    Desk {
                        member: None,
                        n: *n,
                    },
                );
                let got = got.map(|id| Out::Index(self.ids.record(id))).map_err(class);
                (got, self.model.create_desk(m, *n).map(Out::Index))
            }
            Op::GetDesk(m) => {
                let m = need!(r(self, MEMBER, *m));
                let got = self
                    .s
                    .desk
                    .get(&self.db, self.ids.members[m])
                    .map_err(class);
                let got = got.map(|d| Out::Desk(d.map(|row| ix(&self.ids, DESK, row.id()))));
                (got, self.model.get_desk(m).map(Out::Desk))
            }
            Op::AddProject(m, p, hours) => {
                let (m, p) = (need!(r(self, MEMBER, *m)), need!(r(self, PROJECT, *p)));
                let (mid, pid) = (self.ids.members[m], self.ids.projects[p]);
                let got = match hours {
                    Some(h) => {
                        let row = Assignment {
                            member: mid,
                            project: pid,
                            n: *h,
                        };
                        self.s.works_on.add_through(&mut self.db, mid, pid, row)
                    }
                    None => self.s.works_on.add(&mut self.db, mid, pid),
                };
                // A new pair is a new junction row: record its id.
                if let Ok(true) = got {
                    let junction = self.s.works_on.get(&self.db, mid).unwrap();
                    let (_, row) = junction.iter().find(|(t, _)| t.id() == pid).unwrap();
                    self.ids.record(row.id());
                }
                (
                    got.map(Out::Bool).map_err(class),
                    self.model.add_project(m, p, *hours).map(Out::Bool),
                )
            }
            Op::RemoveProjects(m, ps) => {
                let (m, ps) = (need!(r(self, MEMBER, *m)), need!(rs(self, PROJECT, ps)));
                let pids: Vec<_> = ps.iter().map(|&p| self.ids.projects[p]).collect();
                let got = self
                    .s
                    .works_on
                    .remove_many(&mut self.db, self.ids.members[m], pids);
                (
                    got.map(Out::Count).map_err(class),
                    self.model.remove_projects(m, &ps).map(Out::Count),
                )
            }
            Op::SetProjects(m, ps) => {
                let (m, ps) = (need!(r(self, MEMBER, *m)), need!(rs(self, PROJECT, ps)));
                let (mid, pids): (_, Vec<_>) = (
                    self.ids.members[m],
                    ps.iter().map(|&p| self.ids.projects[p]).collect(),
                );
                let before: Vec<_> = match self.s.works_on.get(&self.db, mid) {
                    Ok(rows) => rows.iter().map(|(_, j)| j.id()).collect(),
                    Err(_) => Vec::new(),
                };
                let got = self.s.works_on.set(&mut self.db, mid, pids);
                if got.is_ok() {
                    // Record the junction rows the set created, in creation order.
                    let mut new: Vec<_> = self
                        .s
                        .works_on
                        .get(&self.db, mid)
                        .unwrap()
                        .iter()
                        .map(|(_, j)| j.id())
                        .filter(|j| !before.contains(j))
                        .collect();
                    new.sort();
                    for j in new {
                        self.ids.record(j);
                    }
                }
                (
                    got.map(Out::Count).map_err(class),
                    self.model.set_projects(m, &ps).map(Out::Count),
                )
            }
            Op::HasProjects(m, ps) => {
                let (m, ps) = (need!(r(self, MEMBER, *m)), need!(rs(self, PROJECT, ps)));
                let pids: Vec<_> = ps.iter().map(|&p| self.ids.projects[p]).collect();
                let got = self.s.works_on.has_all(&self.db, self.ids.members[m], pids);
                (
                    got.map(Out::Bool).map_err(class),
                    self.model.has_projects(m, &ps).map(Out::Bool),
                )
            }
            Op::Projects(m) => {
                let m = need!(r(self, MEMBER, *m));
                let got = self
                    .s
                    .works_on
                    .get(&self.db, self.ids.members[m])
                    .map_err(class)
                    .map(|rows| {
                        Out::Projects(
                            rows.iter()
                                .map(|(p, j)| (ix(&self.ids, PROJECT, p.id()), j.n))
                                .collect(),
                        )
                    });
                (got, self.model.projects(m).map(Out::Projects))
            }
            Op::SetMembers(t, ms) => {
                let (t, ms) = (need!(r(self, TEAM, *t)), need!(rs(self, MEMBER, ms)));
                let mids: Vec<_> = ms.iter().map(|&m| self.ids.members[m]).collect();
                let got = self
                    .s
                    .team_members
                    .set(&mut self.db, self.ids.teams[t], mids);
                (
                    got.map(Out::Count).map_err(class),
                    self.model.set_members(t, &ms).map(Out::Count),
                )
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}

fn run(ops: &[Op]) {
    let (s, db) = schema();
    let mut run = Run {
        s,
        db,
        ids: Ids::default(),
        model: Actions::default(),
    };
    for op in ops {
        let before = run.db.fork();
        let model_before = run.model.clone();
        run.step(op);
        if let Err(e) = run.db.check_integrity() {
            panic!("integrity after {op:?}: {e}");
        }
        // The reference grows a table only by inserting; align lengths with issued ids.
        for t in 0..TABLES {
            let n = run.ids_len(t);
            if run.model.tables[t].len() < n {
                run.model.tables[t].resize(n, None);
            }
        }
        assert_eq!(
            run.dump(&run.db),
            run.model,
            "database differs from the reference after {op:?}"
        );
        if run.model == model_before {
            assert_eq!(
                run.dump(&before),
                run.dump(&run.db),
                "{op:?} changed the database"
            );
        }
    }
}

proptest! {
    #[test]
    fn referential_actions_match_the_reference(ops in ops()) {
        run(&ops);
    }
}
