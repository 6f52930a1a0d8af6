//! A naive reference for the `actions` schema: every table is a `Vec` of generic rows (foreign
//! keys by position, one payload byte), every rule a scan over the list of edges.

use crate::reference::Fail;

/// Tables, by index.
pub const ORG: usize = 0;
pub const TEAM: usize = 1;
pub const MEMBER: usize = 2;
pub const TASK: usize = 3;
pub const BADGE: usize = 4;
pub const DESK: usize = 5;
pub const PROJECT: usize = 6;
pub const ASSIGNMENT: usize = 7;
pub const TABLES: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDel {
    Cascade,
    SetNull,
    Restrict,
    NoAction,
}

/// A foreign key: `child.fks[slot]` references a row of `parent`.
pub struct Edge {
    pub child: usize,
    pub slot: usize,
    pub parent: usize,
    pub action: OnDel,
    pub nullable: bool,
    /// At most one child per parent (HasOne).
    pub unique: bool,
}

/// Team.org → Org (Cascade), Team.parent → Team (Cascade, self-reference), Member.team → Team
/// (SetNull), Task.member → Member (Restrict: immediate, only the call's own roots are spared), Badge.team → Team (NoAction), Desk.member →
/// Member (SetNull, HasOne), Assignment.member → Member and Assignment.project → Project
/// (Cascade, junction; the pair is unique).
pub const EDGES: [Edge; 8] = [
    Edge {
        child: TEAM,
        slot: 0,
        parent: ORG,
        action: OnDel::Cascade,
        nullable: false,
        unique: false,
    },
    Edge {
        child: TEAM,
        slot: 1,
        parent: TEAM,
        action: OnDel::Cascade,
        nullable: true,
        unique: false,
    },
    Edge {
        child: MEMBER,
        slot: 0,
        parent: TEAM,
        action: OnDel::SetNull,
        nullable: true,
        unique: false,
    },
    Edge {
        child: TASK,
        slot: 0,
        parent: MEMBER,
        action: OnDel::Restrict,
        nullable: false,
        unique: false,
    },
    Edge {
        child: BADGE,
        slot: 0,
        parent: TEAM,
        action: OnDel::NoAction,
        nullable: true,
        unique: false,
    },
    Edge {
        child: DESK,
        slot: 0,
        parent: MEMBER,
        action: OnDel::SetNull,
        nullable: true,
        unique: true,
    },
    Edge {
        child: ASSIGNMENT,
        slot: 0,
        parent: MEMBER,
        action: OnDel::Cascade,
        nullable: false,
        unique: false,
    },
    Edge {
        child: ASSIGNMENT,
        slot: 1,
        parent: PROJECT,
        action: OnDel::Cascade,
        nullable: false,
        unique: false,
    },
];

/// Number of foreign keys of each table.
pub const ARITY: [usize; TABLES] = [0, 2, 1, 1, 1, 1, 0, 2];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub fks: Vec<Option<usize>>,
    pub payload: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actions {
    pub tables: Vec<Vec<Option<Row>>>,
}

/// The class of a failure in this schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Err {
    Base(Fail),
    Unique,
    Restricted,
}

pub type Res<T> = Result<T, Err>;

impl Default for Actions {
    fn default() -> Self {
        Actions {
            tables: vec![Vec::new(); TABLES],
        }
    }
}

impl Actions {
    pub fn live(&self, table: usize, i: usize) -> bool {
        self.tables[table].get(i).is_some_and(Option::is_some)
    }

    fn need(&self, table: usize, i: usize) -> Res<&Row> {
        self.tables[table]
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Err::Base(Fail::NotFound))
    }

    pub fn row(&self, table: usize, i: usize) -> &Row {
        self.tables[table][i].as_ref().expect("live row")
    }

    /// The constraints a row must meet to be stored (as row `id` of `table`, or a new row).
    fn check(&self, table: usize, id: Option<usize>, row: &Row) -> Res<()> {
        for e in EDGES.iter().filter(|e| e.child == table) {
            if let Some(p) = row.fks[e.slot] {
                if !self.live(e.parent, p) {
                    return Err(Err::Base(Fail::ForeignKey));
                }
                if e.unique && self.children(e, p).iter().any(|&c| Some(c) != id) {
                    return Err(Err::Unique);
                }
            }
        }
        if table == ASSIGNMENT {
            let clash = self.tables[ASSIGNMENT]
                .iter()
                .enumerate()
                .any(|(i, r)| Some(i) != id && r.as_ref().is_some_and(|r| r.fks == row.fks));
            if clash {
                return Err(Err::Unique);
            }
        }
        Ok(())
    }

    /// Live rows whose key `e` references parent `p`, in creation order.
    pub fn children(&self, e: &Edge, p: usize) -> Vec<usize> {
        (0..self.tables[e.child].len())
            .filter(|&c| {
                self.tables[e.child][c]
                    .as_ref()
                    .is_some_and(|r| r.fks[e.slot] == Some(p))
            })
            .collect()
    }

    pub fn insert(&mut self, table: usize, row: Row) -> Res<usize> {
        self.check(table, None, &row)?;
        self.tables[table].push(Some(row));
        Ok(self.tables[table].len() - 1)
    }

    /// Replaces row `i` of `table`.
    pub fn update(&mut self, table: usize, i: usize, row: Row) -> Res<()> {
        self.need(table, i)?;
        self.check(table, Some(i), &row)?;
        self.tables[table][i] = Some(row);
        Ok(())
    }

    /// Deletes `(table, i)` and applies every action to a fixpoint.
    pub fn delete(&mut self, table: usize, i: usize) -> Res<()> {
        self.need(table, i)?;
        self.delete_all(&[(table, i)])
    }

    pub fn delete_all(&mut self, roots: &[(usize, usize)]) -> Res<()> {
        let mut doomed: Vec<(usize, usize)> = roots.to_vec();
        loop {
            let mut grew = false;
            for e in EDGES.iter().filter(|e| e.action == OnDel::Cascade) {
                for &(t, p) in doomed.clone().iter().filter(|(t, _)| *t == e.parent) {
                    let _ = t;
                    for c in self.children(e, p) {
                        if !doomed.contains(&(e.child, c)) {
                            doomed.push((e.child, c));
                            grew = true;
                        }
                    }
                }
            }
            if !grew {
                break;
            }
        }
        // Restrict is immediate (SQL): a child blocks unless the call itself asked to delete
        // it, even when the cascade would delete it too. NoAction is deferred: a child blocks
        // only if it survives the whole delete.
        for e in EDGES
            .iter()
            .filter(|e| matches!(e.action, OnDel::Restrict | OnDel::NoAction))
        {
            let spared: &[(usize, usize)] = match e.action {
                OnDel::Restrict => roots,
                _ => &doomed,
            };
            for &(_, p) in doomed.iter().filter(|(t, _)| *t == e.parent) {
                if self
                    .children(e, p)
                    .iter()
                    .any(|&c| !spared.contains(&(e.child, c)))
                {
                    return Err(Err::Restricted);
                }
            }
        }
        for e in EDGES.iter().filter(|e| e.action == OnDel::SetNull) {
            for &(_, p) in doomed.clone().iter().filter(|(t, _)| *t == e.parent) {
                for c in self.children(e, p) {
                    self.tables[e.child][c].as_mut().unwrap().fks[e.slot] = None;
                }
            }
        }
        for (t, i) in doomed {
            self.tables[t][i] = None;
        }
        Ok(())
    }

    // --- associations -------------------------------------------------------------------

    fn desk_of(&self, m: usize) -> Option<usize> {
        self.children(&EDGES[5], m).first().copied()
    }

    /// HasOne Member → Desk `set`: the previous desk is nulled, `desk` moves to `m`.
    pub fn set_desk(&mut self, m: usize, desk: Option<usize>) -> Res<()> {
        self.need(MEMBER, m)?;
        if let Some(d) = desk {
            self.need(DESK, d)?;
        }
        let current = self.desk_of(m);
        if current == desk {
            return Ok(());
        }
        if let Some(c) = current {
            self.tables[DESK][c].as_mut().unwrap().fks[0] = None;
        }
        if let Some(d) = desk {
            self.tables[DESK][d].as_mut().unwrap().fks[0] = Some(m);
        }
        Ok(())
    }

    pub fn create_desk(&mut self, m: usize, payload: u8) -> Res<usize> {
        self.set_desk(m, None)?;
        self.insert(
            DESK,
            Row {
                fks: vec![Some(m)],
                payload,
            },
        )
    }

    pub fn get_desk(&self, m: usize) -> Res<Option<usize>> {
        self.need(MEMBER, m)?;
        Ok(self.desk_of(m))
    }

    fn assignment(&self, m: usize, p: usize) -> Option<usize> {
        (0..self.tables[ASSIGNMENT].len()).find(|&a| {
            self.tables[ASSIGNMENT][a]
                .as_ref()
                .is_some_and(|r| r.fks == [Some(m), Some(p)])
        })
    }

    fn check_pair_args(&self, m: usize, ps: &[usize]) -> Res<()> {
        self.need(MEMBER, m)?;
        ps.iter().try_for_each(|&p| self.need(PROJECT, p).map(drop))
    }

    /// BelongsToMany Member ↔ Project: projects of `m` in creation order, with hours.
    pub fn projects(&self, m: usize) -> Res<Vec<(usize, u8)>> {
        self.need(MEMBER, m)?;
        let mut out: Vec<(usize, u8)> = self
            .children(&EDGES[6], m)
            .into_iter()
            .map(|a| {
                let r = self.row(ASSIGNMENT, a);
                (r.fks[1].unwrap(), r.payload)
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    pub fn add_project(&mut self, m: usize, p: usize, hours: Option<u8>) -> Res<bool> {
        self.check_pair_args(m, &[p])?;
        match (self.assignment(m, p), hours) {
            (Some(a), Some(h)) => {
                self.tables[ASSIGNMENT][a].as_mut().unwrap().payload = h;
                Ok(false)
            }
            (Some(_), None) => Ok(false),
            (None, h) => {
                self.insert(
                    ASSIGNMENT,
                    Row {
                        fks: vec![Some(m), Some(p)],
                        payload: h.unwrap_or(0),
                    },
                )?;
                Ok(true)
            }
        }
    }

    pub fn remove_projects(&mut self, m: usize, ps: &[usize]) -> Res<usize> {
        self.check_pair_args(m, ps)?;
        let mut rows: Vec<usize> = ps.iter().filter_map(|&p| self.assignment(m, p)).collect();
        rows.sort_unstable();
        rows.dedup();
        let roots: Vec<(usize, usize)> = rows.iter().map(|&a| (ASSIGNMENT, a)).collect();
        self.delete_all(&roots)?;
        Ok(rows.len())
    }

    pub fn set_projects(&mut self, m: usize, ps: &[usize]) -> Res<usize> {
        self.check_pair_args(m, ps)?;
        let current: Vec<usize> = self.projects(m)?.into_iter().map(|(p, _)| p).collect();
        let obsolete: Vec<usize> = current
            .iter()
            .copied()
            .filter(|p| !ps.contains(p))
            .collect();
        let mut changed = self.remove_projects(m, &obsolete)?;
        // New pairs are inserted in target order (creation order of the projects), whatever
        // the order given, as `set_through` does.
        let mut wanted = ps.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        for p in wanted {
            changed += usize::from(self.add_project(m, p, None)?);
        }
        Ok(changed)
    }

    pub fn has_projects(&self, m: usize, ps: &[usize]) -> Res<bool> {
        self.check_pair_args(m, ps)?;
        Ok(ps.iter().all(|&p| self.assignment(m, p).is_some()))
    }

    /// HasMany Team → Member `set` (nullable: unlinked members get null).
    pub fn set_members(&mut self, t: usize, ms: &[usize]) -> Res<usize> {
        self.need(TEAM, t)?;
        ms.iter()
            .try_for_each(|&m| self.need(MEMBER, m).map(drop))?;
        let current = self.children(&EDGES[2], t);
        let mut changed = 0;
        for &m in &current {
            if !ms.contains(&m) {
                self.tables[MEMBER][m].as_mut().unwrap().fks[0] = None;
                changed += 1;
            }
        }
        let mut seen = Vec::new();
        for &m in ms {
            if !current.contains(&m) && !seen.contains(&m) {
                seen.push(m);
                self.tables[MEMBER][m].as_mut().unwrap().fks[0] = Some(t);
                changed += 1;
            }
        }
        Ok(changed)
    }
}
