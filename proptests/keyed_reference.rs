//! A naive reference for the `keyed` schema: attribute-keyed associations, a unique index on a
//! foreign-key field, and on-update / on-delete actions chosen per history.
//!
//! Tables (rows by creation index, `None` once deleted; every rule a scan):
//!
//! - `Org { code }`, `code` unique;
//! - `Dept { org_code }`: `org_code` is a foreign key to `Org.code` (link 1, non-null) *and* is
//!   unique, and is the source key of link 2;
//! - `Desk { dept_code, org }`: `dept_code` references `Dept.org_code` (link 2, nullable),
//!   `org` references an `Org` by id (link 3, nullable);
//! - `Badge { org_code }`: has-one by `Org.code` (link 4, nullable, unique);
//! - `Desk.buddy` references another (or the same) desk by id (link 5, nullable): a
//!   self-reference, so that a delete's roots can reference each other (`Restrict` spares
//!   them) and a delete policy's cascade can reach the call's own source (`Conflict`).
//!
//! So renaming an org carries on to its dept's `org_code`, and from there to the desks'
//! `dept_code`: a chain of on-update actions through a field that is a foreign key, a unique
//! key and a source key at once.

/// Tables, by index.
pub const ORG: usize = 0;
pub const DEPT: usize = 1;
pub const DESK: usize = 2;
pub const BADGE: usize = 3;
pub const TABLES: usize = 4;

/// The error classes of this schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    NotFound,
    Validation,
    ForeignKey,
    Unique,
    Restricted,
    Conflict,
}

pub type Res<T> = Result<T, Fail>;

/// A referential action (on delete or on update).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Cascade,
    SetNull,
    Restrict,
    NoAction,
}

/// What `set` / `remove` do to rows that stop being linked (`None`: the association's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Default,
    Nullify,
    Reject,
    Delete,
}

/// A value a foreign key holds: an attribute code, or a row (by creation index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    Code(u8),
    Row(usize),
}

/// One association: `child.fks[slot]` references `parent` by its code (`by_code`) or its id.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub parent: usize,
    pub child: usize,
    pub slot: usize,
    pub by_code: bool,
    pub nullable: bool,
    pub on_delete: Act,
    pub on_update: Act,
}

/// Links 1 to 5, in declaration order.
pub const LINKS: usize = 5;

/// The actions of one history.
#[derive(Clone, Copy, Debug)]
pub struct Actions {
    pub d1: Act,
    pub u1: Act,
    pub d2: Act,
    pub u2: Act,
    pub d3: Act,
    pub d4: Act,
    pub u4: Act,
    pub d5: Act,
}

impl Actions {
    pub fn links(&self) -> [Link; LINKS] {
        [
            Link {
                parent: ORG,
                child: DEPT,
                slot: 0,
                by_code: true,
                nullable: false,
                on_delete: self.d1,
                on_update: self.u1,
            },
            Link {
                parent: DEPT,
                child: DESK,
                slot: 0,
                by_code: true,
                nullable: true,
                on_delete: self.d2,
                on_update: self.u2,
            },
            Link {
                parent: ORG,
                child: DESK,
                slot: 1,
                by_code: false,
                nullable: true,
                on_delete: self.d3,
                on_update: Act::Cascade,
            },
            Link {
                parent: ORG,
                child: BADGE,
                slot: 0,
                by_code: true,
                nullable: true,
                on_delete: self.d4,
                on_update: self.u4,
            },
            Link {
                parent: DESK,
                child: DESK,
                slot: 2,
                by_code: false,
                nullable: true,
                on_delete: self.d5,
                on_update: Act::Cascade,
            },
        ]
    }
}

/// A row of any table: Org uses `code`; the others their foreign keys by slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct R {
    pub code: u8,
    pub fks: [Option<Val>; 3],
    pub n: u8,
}

/// The whole state: rows by creation index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub tables: [Vec<Option<R>>; TABLES],
}

impl Default for State {
    fn default() -> Self {
        State {
            tables: std::array::from_fn(|_| Vec::new()),
        }
    }
}

/// Everything observable, in reference terms: the rows, every association's children of every
/// live source and parent of every live target, and the unique keys' lookups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    pub state: State,
    /// `(link, source)` → children, in creation order, for every live source.
    pub children: Vec<(usize, usize, Vec<usize>)>,
    /// `(link, target)` → parent, for every live target.
    pub parents: Vec<(usize, usize, Option<usize>)>,
    /// `Org.code` and `Dept.org_code` lookups of every code in `0..CODES`.
    pub finds: Vec<(usize, u8, Option<usize>)>,
}

/// Codes used by the histories: few, so that they collide.
pub const CODES: u8 = 7;

/// What a delete did: rows deleted and rows nulled, per table, sorted.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Deleted {
    pub deleted: [Vec<usize>; TABLES],
    pub nulled: [Vec<usize>; TABLES],
}

/// The reference: the actions of the history and the state.
#[derive(Clone, Debug)]
pub struct Keyed {
    pub links: [Link; LINKS],
    pub state: State,
}

/// A check deferred to the end of the operation: `NoAction` on update, link and child row.
type Deferred = Vec<(usize, usize)>;

impl Keyed {
    pub fn new(actions: Actions) -> Self {
        Keyed {
            links: actions.links(),
            state: State::default(),
        }
    }

    pub fn rows(&self, t: usize) -> &[Option<R>] {
        &self.state.tables[t]
    }

    pub fn live(&self, t: usize, i: usize) -> bool {
        self.state.tables[t].get(i).is_some_and(Option::is_some)
    }

    fn need(&self, t: usize, i: usize) -> Res<&R> {
        self.state.tables[t]
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Fail::NotFound)
    }

    fn row_mut(&mut self, t: usize, i: usize) -> &mut R {
        self.state.tables[t][i].as_mut().expect("live row")
    }

    /// The key a row of `link.parent` is referenced by through `link`.
    fn key_of_row(&self, link: &Link, i: usize, row: &R) -> Val {
        if !link.by_code {
            return Val::Row(i);
        }
        match link.parent {
            ORG => Val::Code(row.code),
            // Dept's source key is its foreign key to Org.
            DEPT => row.fks[0].expect("Dept.org_code is non-null"),
            _ => unreachable!("no other table is a source"),
        }
    }

    /// The key live source `i` of link `l` is referenced by, or `NotFound`.
    pub fn key_of(&self, l: usize, i: usize) -> Res<Val> {
        let link = self.links[l];
        let row = self.need(link.parent, i)?;
        Ok(self.key_of_row(&link, i, row))
    }

    /// The live source row of link `l` holding `key`, if any.
    fn resolve(&self, l: usize, key: Val) -> Option<usize> {
        let link = self.links[l];
        (0..self.rows(link.parent).len()).find(|&i| {
            self.state.tables[link.parent][i]
                .as_ref()
                .is_some_and(|r| self.key_of_row(&link, i, r) == key)
        })
    }

    /// Live children of link `l` holding `key`, in creation order.
    fn holders(&self, l: usize, key: Val) -> Vec<usize> {
        let link = self.links[l];
        (0..self.rows(link.child).len())
            .filter(|&c| {
                self.state.tables[link.child][c]
                    .as_ref()
                    .is_some_and(|r| r.fks[link.slot] == Some(key))
            })
            .collect()
    }

    /// Live children of source `i` of link `l`, in creation order (`NotFound` if `i` is not
    /// live).
    pub fn children(&self, l: usize, i: usize) -> Res<Vec<usize>> {
        let key = self.key_of(l, i)?;
        Ok(self.holders(l, key))
    }

    /// The parent of live target `c` of link `l`.
    pub fn parent(&self, l: usize, c: usize) -> Res<Option<usize>> {
        let link = self.links[l];
        let row = self.need(link.child, c)?;
        Ok(row.fks[link.slot].and_then(|k| self.resolve(l, k)))
    }

    fn links_into(&self, t: usize) -> impl Iterator<Item = usize> + '_ {
        (0..LINKS).filter(move |&l| self.links[l].child == t)
    }

    fn links_from(&self, t: usize) -> impl Iterator<Item = usize> + '_ {
        (0..LINKS).filter(move |&l| self.links[l].parent == t)
    }

    /// Whether `new` may be stored as row `id` of `t` (`None`: inserted), replacing `old`:
    /// changed foreign keys resolve (`ForeignKey`), then unique keys are free (`Unique`).
    fn check(&self, t: usize, id: Option<usize>, old: Option<&R>, new: &R) -> Res<()> {
        for l in self.links_into(t) {
            let slot = self.links[l].slot;
            if let Some(k) = new.fks[slot]
                && old.is_none_or(|o| o.fks[slot] != Some(k))
                && self.resolve(l, k).is_none()
            {
                return Err(Fail::ForeignKey);
            }
        }
        let clash = |slot_or_code: &dyn Fn(&R) -> Option<Val>| {
            let Some(k) = slot_or_code(new) else {
                return false;
            };
            if old.is_some_and(|o| slot_or_code(o) == Some(k)) {
                return false;
            }
            self.rows(t).iter().enumerate().any(|(i, r)| {
                Some(i) != id && r.as_ref().is_some_and(|r| slot_or_code(r) == Some(k))
            })
        };
        let unique = match t {
            // Org.code is unique.
            ORG => clash(&|r: &R| Some(Val::Code(r.code))),
            // Dept.org_code is unique (a unique index on the foreign-key field).
            DEPT => clash(&|r: &R| r.fks[0]),
            // Badge.org_code is a has-one key.
            BADGE => clash(&|r: &R| r.fks[0]),
            _ => false,
        };
        if unique {
            return Err(Fail::Unique);
        }
        Ok(())
    }

    pub fn insert(&mut self, t: usize, row: R) -> Res<usize> {
        self.check(t, None, None, &row)?;
        self.state.tables[t].push(Some(row));
        Ok(self.state.tables[t].len() - 1)
    }

    /// Replaces row `i` of `t`: checks, then the on-update actions of every link whose source
    /// key changes (Restrict at once, NoAction deferred, Cascade / SetNull applied after the
    /// row is stored, transitively).
    fn replace(&mut self, t: usize, i: usize, new: R, deferred: &mut Deferred) -> Res<()> {
        let old = self.need(t, i)?.clone();
        self.check(t, Some(i), Some(&old), &new)?;
        let mut follow = Vec::new();
        for l in self.links_from(t).collect::<Vec<_>>() {
            let link = self.links[l];
            if !link.by_code {
                continue;
            }
            let (was, now) = (
                self.key_of_row(&link, i, &old),
                self.key_of_row(&link, i, &new),
            );
            if was == now {
                continue;
            }
            let children = self.holders(l, was);
            if children.is_empty() {
                continue;
            }
            match link.on_update {
                Act::Cascade => follow.push((l, children, Some(now))),
                Act::SetNull => follow.push((l, children, None)),
                Act::Restrict => return Err(Fail::Restricted),
                Act::NoAction => deferred.extend(children.into_iter().map(|c| (l, c))),
            }
        }
        self.state.tables[t][i] = Some(new);
        for (l, children, key) in follow {
            for c in children {
                self.relink(l, c, key, deferred)?;
            }
        }
        Ok(())
    }

    /// Points the key of link `l` on row `c` at `key`; false if it already held it.
    fn relink(
        &mut self,
        l: usize,
        c: usize,
        key: Option<Val>,
        deferred: &mut Deferred,
    ) -> Res<bool> {
        let link = self.links[l];
        let row = self.need(link.child, c)?;
        if row.fks[link.slot] == key {
            return Ok(false);
        }
        if key.is_none() && !link.nullable {
            return Err(Fail::Validation);
        }
        let mut new = row.clone();
        new.fks[link.slot] = key;
        self.replace(link.child, c, new, deferred)?;
        Ok(true)
    }

    /// NoAction on update: a deferred child that still holds a key naming no row fails.
    fn check_deferred(&self, deferred: &Deferred) -> Res<()> {
        for &(l, c) in deferred {
            let link = self.links[l];
            if let Some(Some(row)) = self.state.tables[link.child].get(c)
                && let Some(k) = row.fks[link.slot]
                && self.resolve(l, k).is_none()
            {
                return Err(Fail::Restricted);
            }
        }
        Ok(())
    }

    /// Runs `f` as one atomic operation: on error, the state is as before.
    fn atomic<T>(&mut self, f: impl FnOnce(&mut Self, &mut Deferred) -> Res<T>) -> Res<T> {
        let saved = self.state.clone();
        let mut deferred = Vec::new();
        let out = f(self, &mut deferred).and_then(|v| self.check_deferred(&deferred).map(|_| v));
        if out.is_err() {
            self.state = saved;
        }
        out
    }

    pub fn update(&mut self, t: usize, i: usize, row: R) -> Res<()> {
        self.atomic(|m, d| m.replace(t, i, row, d))
    }

    /// Deletes `roots` and everything their on-delete actions reach. `Restrict` is immediate: a
    /// child blocks unless it is itself a root, even if the cascade would delete it; `NoAction`
    /// blocks only if the child survives. SetNull children that survive are nulled.
    fn delete_roots(&mut self, roots: &[(usize, usize)]) -> Res<Deleted> {
        let mut doomed: Vec<(usize, usize)> = Vec::new();
        for &r in roots {
            if !doomed.contains(&r) {
                doomed.push(r);
            }
        }
        let mut at = 0;
        let mut checks = Vec::new();
        while at < doomed.len() {
            let (t, i) = doomed[at];
            at += 1;
            for l in self.links_from(t).collect::<Vec<_>>() {
                let link = self.links[l];
                let children = self.children(l, i).expect("doomed rows are live");
                for c in children {
                    match link.on_delete {
                        Act::Cascade => {
                            if !doomed.contains(&(link.child, c)) {
                                doomed.push((link.child, c));
                            }
                        }
                        Act::Restrict if !roots.contains(&(link.child, c)) => {
                            return Err(Fail::Restricted);
                        }
                        Act::Restrict => {}
                        Act::NoAction | Act::SetNull => checks.push((l, c)),
                    }
                }
            }
        }
        let mut out = Deleted::default();
        for (l, c) in checks {
            let link = self.links[l];
            if doomed.contains(&(link.child, c)) {
                continue;
            }
            if link.on_delete == Act::NoAction {
                return Err(Fail::Restricted);
            }
            self.row_mut(link.child, c).fks[link.slot] = None;
            out.nulled[link.child].push(c);
        }
        for &(t, i) in &doomed {
            self.state.tables[t][i] = None;
            out.deleted[t].push(i);
        }
        for v in out.deleted.iter_mut().chain(out.nulled.iter_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        Ok(out)
    }

    pub fn delete(&mut self, t: usize, i: usize) -> Res<Deleted> {
        self.need(t, i)?;
        self.atomic(|m, _| m.delete_roots(&[(t, i)]))
    }

    // --- association methods --------------------------------------------------------------

    fn need_all(&self, t: usize, ids: &[usize]) -> Res<()> {
        ids.iter().try_for_each(|&i| self.need(t, i).map(drop))
    }

    fn default_unlink(&self, l: usize) -> Policy {
        if self.links[l].nullable {
            Policy::Nullify
        } else {
            Policy::Reject
        }
    }

    /// Unlinks `rows` (linked children of `l`, sorted) by `policy`; the delete policy's
    /// cascade may not delete the source `s` or a row in `needed` (`Conflict`).
    fn unlink(
        &mut self,
        l: usize,
        s: usize,
        rows: &[usize],
        needed: &[usize],
        policy: Policy,
        deferred: &mut Deferred,
    ) -> Res<usize> {
        let link = self.links[l];
        if rows.is_empty() {
            return Ok(0);
        }
        let policy = match policy {
            Policy::Default => self.default_unlink(l),
            p => p,
        };
        match policy {
            Policy::Nullify if link.nullable => {
                for &c in rows {
                    self.relink(l, c, None, deferred)?;
                }
                Ok(rows.len())
            }
            Policy::Nullify | Policy::Reject => Err(Fail::Validation),
            Policy::Delete => {
                let roots: Vec<_> = rows.iter().map(|&c| (link.child, c)).collect();
                let mut trial = self.clone();
                let done = trial.delete_roots(&roots)?;
                if done.deleted[link.parent].contains(&s)
                    || needed.iter().any(|c| done.deleted[link.child].contains(c))
                {
                    return Err(Fail::Conflict);
                }
                *self = trial;
                Ok(rows.len())
            }
            Policy::Default => unreachable!(),
        }
    }

    /// HasMany `add`: links `c` to `s`; false if it was linked already.
    pub fn add(&mut self, l: usize, s: usize, c: usize) -> Res<bool> {
        let link = self.links[l];
        if !self.live(link.child, c) {
            self.key_of(l, s)?;
            return Err(Fail::NotFound);
        }
        let key = self.key_of(l, s)?;
        self.atomic(|m, d| m.relink(l, c, Some(key), d))
    }

    /// HasMany `remove_many_with` (`remove` for one target and the default policy).
    pub fn remove(&mut self, l: usize, s: usize, cs: &[usize], policy: Policy) -> Res<usize> {
        let link = self.links[l];
        let key = self.key_of(l, s)?;
        self.need_all(link.child, cs)?;
        let held = |m: &Self, c: usize| {
            m.rows(link.child)[c].as_ref().unwrap().fks[link.slot] == Some(key)
        };
        let mut linked: Vec<usize> = cs.iter().copied().filter(|&c| held(self, c)).collect();
        linked.sort_unstable();
        linked.dedup();
        let others: Vec<usize> = cs.iter().copied().filter(|&c| !held(self, c)).collect();
        self.atomic(|m, d| m.unlink(l, s, &linked, &others, policy, d))
    }

    /// HasMany `set_with`: the children of `s` become exactly `cs`.
    pub fn set(&mut self, l: usize, s: usize, cs: &[usize], policy: Policy) -> Res<usize> {
        let link = self.links[l];
        let key = self.key_of(l, s)?;
        self.need_all(link.child, cs)?;
        let mut wanted = cs.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let current = self.holders(l, key);
        let unlink: Vec<usize> = current
            .iter()
            .copied()
            .filter(|c| !wanted.contains(c))
            .collect();
        let link_: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|c| !current.contains(c))
            .collect();
        self.atomic(|m, d| {
            let mut changed = m.unlink(l, s, &unlink, &wanted, policy, d)?;
            for &c in &link_ {
                m.relink(l, c, Some(key), d)?;
                changed += 1;
            }
            Ok(changed)
        })
    }

    /// HasMany `create`: inserts `row` with its key set to `s`'s.
    pub fn create(&mut self, l: usize, s: usize, mut row: R) -> Res<usize> {
        let link = self.links[l];
        let key = self.key_of(l, s)?;
        row.fks[link.slot] = Some(key);
        self.insert(link.child, row)
    }

    /// HasMany `has_all`.
    pub fn has_all(&self, l: usize, s: usize, cs: &[usize]) -> Res<bool> {
        let link = self.links[l];
        let key = self.key_of(l, s)?;
        self.need_all(link.child, cs)?;
        Ok(cs
            .iter()
            .all(|&c| self.rows(link.child)[c].as_ref().unwrap().fks[link.slot] == Some(key)))
    }

    /// BelongsTo `set`: points `c` at `s`, or nulls it.
    pub fn set_parent(&mut self, l: usize, c: usize, s: Option<usize>) -> Res<()> {
        let link = self.links[l];
        let key = match s {
            Some(s) => Some(self.key_of(l, s)?),
            None => None,
        };
        self.need(link.child, c)?;
        if key.is_none() && !link.nullable {
            return Err(Fail::Validation);
        }
        self.atomic(|m, d| m.relink(l, c, key, d).map(drop))
    }

    /// HasOne `set_with` (link 4): `c` becomes the one child of `s`.
    pub fn set_one(&mut self, l: usize, s: usize, c: Option<usize>, policy: Policy) -> Res<()> {
        let link = self.links[l];
        let key = self.key_of(l, s)?;
        if let Some(c) = c {
            self.need(link.child, c)?;
        }
        let current = self.holders(l, key).first().copied();
        if current == c {
            return Ok(());
        }
        let needed: Vec<usize> = c.into_iter().collect();
        self.atomic(|m, d| {
            m.unlink(
                l,
                s,
                &current.into_iter().collect::<Vec<_>>(),
                &needed,
                policy,
                d,
            )?;
            if let Some(c) = c {
                m.relink(l, c, Some(key), d)?;
            }
            Ok(())
        })
    }

    /// HasOne `create`: the current child is unlinked by the default policy, then `row` is
    /// inserted as the child.
    pub fn create_one(&mut self, l: usize, s: usize, mut row: R) -> Res<usize> {
        let link = self.links[l];
        let key = self.key_of(l, s)?;
        let current: Vec<usize> = self.holders(l, key).first().copied().into_iter().collect();
        row.fks[link.slot] = Some(key);
        self.atomic(|m, d| {
            m.unlink(l, s, &current, &[], Policy::Default, d)?;
            m.insert(link.child, row)
        })
    }

    /// `Unique::find` on `Org.code` (`t == ORG`) or `Dept.org_code` (`t == DEPT`).
    pub fn find(&self, t: usize, code: u8) -> Option<usize> {
        (0..self.rows(t).len()).find(|&i| {
            self.rows(t)[i].as_ref().is_some_and(|r| match t {
                ORG => r.code == code,
                _ => r.fks[0] == Some(Val::Code(code)),
            })
        })
    }

    /// Everything observable.
    pub fn dump(&self) -> Dump {
        let mut children = Vec::new();
        let mut parents = Vec::new();
        for l in 0..LINKS {
            let link = self.links[l];
            for s in 0..self.rows(link.parent).len() {
                if self.live(link.parent, s) {
                    children.push((l, s, self.children(l, s).unwrap()));
                }
            }
            for c in 0..self.rows(link.child).len() {
                if self.live(link.child, c) {
                    parents.push((l, c, self.parent(l, c).unwrap()));
                }
            }
        }
        let mut finds = Vec::new();
        for t in [ORG, DEPT] {
            for code in 0..CODES {
                finds.push((t, code, self.find(t, code)));
            }
        }
        Dump {
            state: self.state.clone(),
            children,
            parents,
            finds,
        }
    }
}
