//! A run over several databases: results, dumps, picks resolved, the reference's checks and the probes of every database.

use super::*;

#[derive(Debug, PartialEq)]
pub(super) enum Out {
    Unit,
    Index(usize),
    Row(G),
    Indexes(Vec<usize>),
    Bool(bool),
    Opt(Option<usize>),
}

/// Everything observable in one database, in reference terms.
#[derive(Debug, PartialEq)]
pub(super) struct Dump {
    pub(super) world: usize,
    pub(super) c: Option<usize>,
    pub(super) rows: [Vec<(usize, G)>; 3],
    /// `(c?, a)` → children, for every live A.
    pub(super) children: Vec<(bool, usize, Vec<usize>)>,
    /// `(c?, child)` → parent, for every live B and C.
    pub(super) parents: Vec<(bool, usize, Option<usize>)>,
    finds: Vec<Option<usize>>,
}

pub(super) struct Run {
    pub(super) worlds: Vec<World>,
    pub(super) cs: Vec<CHandle>,
    pub(super) dbs: Vec<Db>,
    pub(super) refs: Vec<RefDb>,
    pub(super) ids: Issued,
}

/// The children of a live A in the reference.
pub(super) fn ref_children(r: &RefDb, k: usize, a: usize) -> Vec<usize> {
    r.rows[k]
        .iter()
        .filter(|(_, g)| g.a == Some(a))
        .map(|(&i, _)| i)
        .collect()
}

pub(super) fn ref_dump(r: &RefDb) -> Dump {
    let rows = std::array::from_fn(|k| r.rows[k].iter().map(|(&i, g)| (i, g.clone())).collect());
    let mut children = Vec::new();
    let mut parents = Vec::new();
    for (c, k) in [(false, KB), (true, KC)] {
        if c && r.c.is_none() {
            continue;
        }
        for &a in r.rows[KA].keys() {
            children.push((c, a, ref_children(r, k, a)));
        }
        for (&i, g) in &r.rows[k] {
            parents.push((c, i, g.a));
        }
    }
    let finds = (0..CODES)
        .map(|code| {
            r.rows[KA]
                .iter()
                .find(|(_, g)| g.code == code)
                .map(|(&i, _)| i)
        })
        .collect();
    Dump {
        world: r.world,
        c: r.c,
        rows,
        children,
        parents,
        finds,
    }
}

impl Run {
    pub(super) fn slot(&self, n: usize) -> usize {
        n % self.dbs.len()
    }

    /// The handle a pick names for table kind `k` of slot `d` (an index into `worlds` for A and
    /// B, into `cs` for C); `None` when there is none of that kind yet.
    pub(super) fn handle(&self, d: usize, k: usize, h: HPick) -> Option<usize> {
        let r = &self.refs[d];
        match k {
            KC => {
                if h.known && r.c.is_some() {
                    return r.c;
                }
                (!self.cs.is_empty()).then(|| h.n % self.cs.len())
            }
            _ if h.known => Some(r.world),
            _ => Some(h.n % self.worlds.len()),
        }
    }

    /// Whether slot `d` declared handle `h` of kind `k`.
    pub(super) fn knows(&self, d: usize, k: usize, h: usize) -> bool {
        match k {
            KC => self.refs[d].c == Some(h),
            _ => self.refs[d].world == h,
        }
    }

    /// An id of kind `k`: usually live in slot `d` and of instance `inst`.
    pub(super) fn id(&self, d: usize, k: usize, inst: Option<usize>, p: IdPick) -> Option<usize> {
        if p.valid
            && let Some(inst) = inst
        {
            let live: Vec<usize> = self.refs[d].rows[k]
                .keys()
                .copied()
                .filter(|&i| self.ids.instance(k, i) == inst)
                .collect();
            if !live.is_empty() {
                return Some(live[p.n % live.len()]);
            }
        }
        let n = self.ids.len(k);
        (n > 0).then(|| p.n % n)
    }

    /// The A instance rows of kind `k` reference through handle `h`: the world of A.
    pub(super) fn a_instance(&self, d: usize, k: usize, h: usize) -> usize {
        match k {
            // A `C` table references the A table of the database that declared it, which is
            // the database's world when it knows the handle.
            KC => self.refs[d].world,
            _ => h,
        }
    }

    /// The reference row `id` names through handle `h` of kind `k` in slot `d`.
    pub(super) fn lookup(&self, d: usize, k: usize, h: usize, id: usize) -> Res<&G> {
        if !self.knows(d, k, h) {
            return Err(Fail::UnknownHandle);
        }
        if self.ids.instance(k, id) != h {
            return Err(Fail::NotFound);
        }
        self.refs[d].rows[k].get(&id).ok_or(Fail::NotFound)
    }

    /// Whether A `a` can be referenced from slot `d`: of the database's A instance, and live.
    pub(super) fn a_resolves(&self, d: usize, a: usize) -> bool {
        self.ids.instance(KA, a) == self.refs[d].world && self.refs[d].rows[KA].contains_key(&a)
    }

    /// Checks a row for slot `d`, kind `k` (`id`: the row it replaces).
    pub(super) fn check(&self, d: usize, k: usize, id: Option<usize>, row: &G) -> Res<()> {
        if k == KA {
            let clash = self.refs[d].rows[KA]
                .iter()
                .any(|(&i, g)| Some(i) != id && g.code == row.code);
            return if clash { Err(Fail::Unique) } else { Ok(()) };
        }
        match row.a {
            Some(a) if !self.a_resolves(d, a) => Err(Fail::ForeignKey),
            _ => Ok(()),
        }
    }

    /// Reference deletes: an A's B and C rows are nulled.
    pub(super) fn ref_delete(&mut self, d: usize, k: usize, id: usize) {
        let r = &mut self.refs[d];
        r.rows[k].remove(&id);
        if k == KA {
            for kk in [KB, KC] {
                for g in r.rows[kk].values_mut() {
                    if g.a == Some(id) {
                        g.a = None;
                    }
                }
            }
        }
    }

    pub(super) fn to_g_a(row: &A) -> G {
        G {
            code: row.code,
            a: None,
            n: row.n,
        }
    }

    pub(super) fn dump(&self, d: usize, db: &Db) -> Dump {
        let r = &self.refs[d];
        let w = self.worlds[r.world];
        let ids = &self.ids;
        let mut rows: [Vec<(usize, G)>; 3] = Default::default();
        rows[KA] =
            w.a.iter(db)
                .unwrap()
                .map(|row| (ids.of_a(row.id()), Run::to_g_a(row.value())))
                .collect();
        rows[KB] =
            w.b.iter(db)
                .unwrap()
                .map(|row| {
                    let g = G {
                        code: 0,
                        a: row.a.map(|a| ids.of_a(a)),
                        n: row.n,
                    };
                    (ids.of_b(row.id()), g)
                })
                .collect();
        let c = r.c.map(|h| self.cs[h]);
        if let Some(c) = c {
            rows[KC] =
                c.c.iter(db)
                    .unwrap()
                    .map(|row| {
                        let g = G {
                            code: 0,
                            a: row.a.map(|a| ids.of_a(a)),
                            n: row.n,
                        };
                        (ids.of_c(row.id()), g)
                    })
                    .collect();
        }
        // Creation order is global issue order within one table instance.
        for list in &mut rows {
            let sorted = list.windows(2).all(|p| p[0].0 < p[1].0);
            assert!(sorted, "iter is in creation order");
        }
        assert_eq!(w.a.len(db).unwrap(), rows[KA].len());
        assert_eq!(w.b.scan(db).unwrap().count(), rows[KB].len());
        let mut children = Vec::new();
        let mut parents = Vec::new();
        for &(a, _) in &rows[KA] {
            let aid = ids.a[a].1;
            let kids: Vec<usize> =
                w.ab.get(db, aid)
                    .unwrap()
                    .map(|r| ids.of_b(r.id()))
                    .collect();
            assert_eq!(
                w.ab.count(db, aid).unwrap(),
                kids.len(),
                "count == get().len()"
            );
            children.push((false, a, kids));
        }
        for &(b, _) in &rows[KB] {
            let parent = w.ab.inverse().get(db, ids.b[b].1).unwrap();
            parents.push((false, b, parent.map(|p| ids.of_a(p.id()))));
        }
        if let Some(c) = c {
            for &(a, _) in &rows[KA] {
                let aid = ids.a[a].1;
                let kids: Vec<usize> =
                    c.ac.get(db, aid)
                        .unwrap()
                        .map(|r| ids.of_c(r.id()))
                        .collect();
                assert_eq!(
                    c.ac.count(db, aid).unwrap(),
                    kids.len(),
                    "count == get().len()"
                );
                children.push((true, a, kids));
            }
            for &(i, _) in &rows[KC] {
                let parent = c.ac.inverse().get(db, ids.c[i].1).unwrap();
                parents.push((true, i, parent.map(|p| ids.of_a(p.id()))));
            }
        }
        let finds = (0..CODES)
            .map(|code| w.code.find(db, &code).unwrap().map(|r| ids.of_a(r.id())))
            .collect();
        // `Db::table` names the handles this database declared.
        assert_eq!(db.table::<A>(), Some(w.a));
        assert_eq!(db.table::<B>(), Some(w.b));
        assert_eq!(db.table::<C>(), c.map(|c| c.c));
        Dump {
            world: r.world,
            c: r.c,
            rows,
            children,
            parents,
            finds,
        }
    }

    /// Every method of every handle slot `d` did not declare returns `UnknownHandle`, with
    /// arguments that are valid elsewhere (ids live in the handle's own database) and here.
    pub(super) fn probe(&mut self, d: usize, full: bool) {
        let unknown = |r: Result<(), Error>| {
            assert!(
                matches!(r, Err(Error::UnknownHandle { .. })),
                "expected UnknownHandle, got {r:?}"
            );
        };
        let db = &mut self.dbs[d];
        let r = &self.refs[d];
        // Arguments: some ids of every kind (the last issued), valid somewhere.
        let some_a = self.ids.a.last().map(|&(_, id)| id);
        let some_b = self.ids.b.last().map(|&(_, id)| id);
        let some_c = self.ids.c.last().map(|&(_, id)| id);
        for (w, world) in self.worlds.iter().enumerate() {
            if w == r.world {
                continue;
            }
            unknown(world.a.len(db).map(drop));
            unknown(world.b.len(db).map(drop));
            if !full {
                continue;
            }
            unknown(world.a.is_empty(db).map(drop));
            unknown(world.a.iter(db).map(drop));
            unknown(world.a.scan(db).map(drop));
            unknown(world.a.filter(db, |_| true).map(drop));
            unknown(world.code.find(db, &0).map(drop));
            unknown(world.a.insert(db, A { code: 0, n: 0 }).map(drop));
            unknown(world.b.insert(db, B { a: None, n: 0 }).map(drop));
            if let Some(a) = some_a {
                unknown(world.a.get(db, a).map(drop));
                unknown(world.a.contains(db, a).map(drop));
                unknown(world.a.update(db, a, A { code: 0, n: 0 }).map(drop));
                unknown(world.a.modify(db, a, |_| ()).map(drop));
                unknown(world.a.delete(db, a).map(drop));
                unknown(world.ab.get(db, a).map(drop));
                unknown(world.ab.count(db, a).map(drop));
                unknown(world.ab.count_where(db, a, |_| true).map(drop));
                unknown(world.ab.query(db, a, &Query::new()).map(drop));
                unknown(world.ab.get_many(db, [a], &Query::new()).map(drop));
                unknown(world.ab.create(db, a, B { a: None, n: 0 }).map(drop));
                unknown(world.ab.set(db, a, []).map(drop));
                unknown(world.ab.set_with(db, a, [], Some(Unlink::Delete)).map(drop));
                unknown(world.ab.add_many(db, a, []).map(drop));
                unknown(world.ab.remove_many(db, a, []).map(drop));
                unknown(world.ab.has_all(db, a, []).map(drop));
                if let Some(b) = some_b {
                    unknown(world.ab.add(db, a, b).map(drop));
                    unknown(world.ab.remove(db, a, b).map(drop));
                    unknown(world.ab.has(db, a, b).map(drop));
                    unknown(world.ab.inverse().set(db, b, Some(a)).map(drop));
                }
            }
            if let Some(b) = some_b {
                unknown(world.b.get(db, b).map(drop));
                unknown(world.b.delete(db, b).map(drop));
                unknown(world.ab.inverse().get(db, b).map(drop));
                unknown(world.ab.inverse().get_many(db, [b]).map(drop));
                unknown(world.ab.inverse().set(db, b, None).map(drop));
                unknown(
                    world
                        .ab
                        .inverse()
                        .create(db, b, A { code: 0, n: 0 })
                        .map(drop),
                );
            }
        }
        for (h, ch) in self.cs.iter().enumerate() {
            if r.c == Some(h) {
                continue;
            }
            unknown(ch.c.len(db).map(drop));
            if !full {
                continue;
            }
            unknown(ch.c.is_empty(db).map(drop));
            unknown(ch.c.iter(db).map(drop));
            unknown(ch.c.scan(db).map(drop));
            unknown(ch.c.insert(db, C { a: None, n: 0 }).map(drop));
            if let Some(c) = some_c {
                unknown(ch.c.get(db, c).map(drop));
                unknown(ch.c.contains(db, c).map(drop));
                unknown(ch.c.update(db, c, C { a: None, n: 0 }).map(drop));
                unknown(ch.c.delete(db, c).map(drop));
                unknown(ch.ac.inverse().get(db, c).map(drop));
                unknown(ch.ac.inverse().set(db, c, None).map(drop));
            }
            if let Some(a) = some_a {
                unknown(ch.ac.get(db, a).map(drop));
                unknown(ch.ac.count(db, a).map(drop));
                unknown(ch.ac.create(db, a, C { a: None, n: 0 }).map(drop));
                unknown(ch.ac.set(db, a, []).map(drop));
                if let Some(c) = some_c {
                    unknown(ch.ac.add(db, a, c).map(drop));
                    unknown(ch.ac.remove(db, a, c).map(drop));
                    unknown(ch.ac.has(db, a, c).map(drop));
                }
            }
        }
    }

    /// Declares `C` on slot `d` as `how` says; returns the result in reference terms.
    pub(super) fn create_c(&mut self, d: usize, how: How) -> (Res<Out>, Res<Out>) {
        let world = self.refs[d].world;
        let a = self.worlds[world].a;
        let knows_c = self.refs[d].c.is_some();
        let want_fail = knows_c.then_some(Fail::Definition);
        let db = &mut self.dbs[d];
        match how {
            How::Direct | How::Commit { .. } => {
                let got = match how {
                    How::Direct => declare_c(db, a),
                    How::Commit { closure: true } => db.transaction(|tx| declare_c(tx, a)),
                    _ => {
                        let mut tx = db.begin();
                        let got = declare_c(&mut tx, a);
                        if got.is_ok() {
                            tx.commit();
                        }
                        got
                    }
                };
                match got {
                    Ok(handle) => {
                        self.cs.push(handle);
                        let h = self.cs.len() - 1;
                        self.refs[d].c = Some(h);
                        (Ok(Out::Index(h)), want_fail.map_or(Ok(Out::Index(h)), Err))
                    }
                    Err(e) => (Err(class(e)), want_fail.map_or(Ok(Out::Unit), Err)),
                }
            }
            How::Rollback {
                closure,
                rows,
                panic,
            } => {
                // Inside: declare, insert rows (recording their ids), then roll back.
                let live_a: Vec<Id<A>> = self.refs[d].rows[KA]
                    .keys()
                    .map(|&i| self.ids.a[i].1)
                    .collect();
                let mut created: Option<(CHandle, Vec<Id<C>>)> = None;
                let mut body = |tx: &mut Db| -> Result<(), Error> {
                    let handle = declare_c(tx, a)?;
                    let mut ids = Vec::new();
                    for i in 0..rows {
                        let a = live_a.get(usize::from(i)).copied();
                        ids.push(handle.c.insert(tx, C { a, n: i }).unwrap());
                    }
                    assert_eq!(tx.table::<C>(), Some(handle.c));
                    created = Some((handle, ids));
                    if panic {
                        std::panic::panic_any(ROLLBACK);
                    }
                    Err(Error::Definition {
                        message: "roll back".into(),
                    })
                };
                let result = catch_unwind(AssertUnwindSafe(|| {
                    if closure {
                        db.transaction(&mut body)
                    } else {
                        let mut tx = db.begin();
                        let r = body(&mut tx);
                        tx.rollback();
                        r
                    }
                }));
                match result {
                    Ok(_) => {}
                    Err(payload) if payload.downcast_ref::<&str>() == Some(&ROLLBACK) => {}
                    Err(payload) => std::panic::resume_unwind(payload),
                }
                let got = match created {
                    Some((handle, ids)) => {
                        self.cs.push(handle);
                        let h = self.cs.len() - 1;
                        for id in ids {
                            self.ids.c.push((h, id));
                        }
                        Ok(Out::Unit)
                    }
                    None => Err(Fail::Definition),
                };
                (got, want_fail.map_or(Ok(Out::Unit), Err))
            }
        }
    }
}
