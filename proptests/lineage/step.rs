//! One operation applied to its database and to the reference, and their results compared.

use super::*;

impl Run {
    pub(super) fn step(&mut self, op: &Op) {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return,
                }
            };
        }
        let (got, want): (Res<Out>, Res<Out>) = match op {
            Op::NewDb => {
                if self.worlds.len() == MAX_WORLDS {
                    return;
                }
                let (world, db) = new_world();
                self.worlds.push(world);
                self.refs.push(RefDb {
                    world: self.worlds.len() - 1,
                    c: None,
                    rows: Default::default(),
                });
                self.dbs.push(db);
                if self.dbs.len() > MAX_SLOTS {
                    self.dbs.remove(0);
                    self.refs.remove(0);
                }
                (Ok(Out::Unit), Ok(Out::Unit))
            }
            Op::Fork { src, dst } => {
                let src = self.slot(*src);
                let fork = self.dbs[src].fork();
                let r = self.refs[src].clone();
                if self.dbs.len() < MAX_SLOTS {
                    self.dbs.push(fork);
                    self.refs.push(r);
                } else {
                    let dst = dst % self.dbs.len();
                    self.dbs[dst] = fork;
                    self.refs[dst] = r;
                }
                (Ok(Out::Unit), Ok(Out::Unit))
            }
            Op::CreateC { db, how } => {
                let d = self.slot(*db);
                self.create_c(d, *how)
            }
            Op::Insert {
                db,
                k,
                h,
                a,
                code,
                n,
            } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let a = match a {
                    Some(p) if *k != KA => {
                        let inst = self.a_instance(d, *k, h);
                        Some(need!(self.id(d, KA, Some(inst), *p)))
                    }
                    _ => None,
                };
                let row = G {
                    code: if *k == KA { *code } else { 0 },
                    a,
                    n: *n,
                };
                let a_id = a.map(|i| self.ids.a[i].1);
                let inst = h;
                let db = &mut self.dbs[d];
                let got = match *k {
                    // Odd `n`: through `insert_many`, on an iterator that promises more rows
                    // than it yields, so creation numbers are reserved and given back.
                    KA if row.n % 2 == 1 => {
                        let one = Promising(Some(A {
                            code: row.code,
                            n: row.n,
                        }));
                        self.worlds[h].a.insert_many(db, one).map(|ids| {
                            self.ids.a.push((inst, ids[0]));
                            Out::Index(self.ids.a.len() - 1)
                        })
                    }
                    KA => self.worlds[h]
                        .a
                        .insert(
                            db,
                            A {
                                code: row.code,
                                n: row.n,
                            },
                        )
                        .map(|id| {
                            self.ids.a.push((inst, id));
                            Out::Index(self.ids.a.len() - 1)
                        }),
                    KB => self.worlds[h]
                        .b
                        .insert(db, B { a: a_id, n: row.n })
                        .map(|id| {
                            self.ids.b.push((inst, id));
                            Out::Index(self.ids.b.len() - 1)
                        }),
                    _ => self.cs[h].c.insert(db, C { a: a_id, n: row.n }).map(|id| {
                        self.ids.c.push((inst, id));
                        Out::Index(self.ids.c.len() - 1)
                    }),
                };
                let want = if !self.knows(d, *k, h) {
                    Err(Fail::UnknownHandle)
                } else {
                    self.check(d, *k, None, &row).map(|_| {
                        let i = self.ids.len(*k) - usize::from(got.is_ok());
                        if got.is_ok() {
                            self.refs[d].rows[*k].insert(i, row);
                        }
                        Out::Index(i)
                    })
                };
                (got.map_err(class), want)
            }
            Op::Update {
                db,
                k,
                h,
                id,
                a,
                code,
                n,
            } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let id = need!(self.id(d, *k, Some(h), *id));
                let a = match a {
                    Some(p) if *k != KA => {
                        let inst = self.a_instance(d, *k, h);
                        Some(need!(self.id(d, KA, Some(inst), *p)))
                    }
                    _ => None,
                };
                let row = G {
                    code: if *k == KA { *code } else { 0 },
                    a,
                    n: *n,
                };
                let a_id = a.map(|i| self.ids.a[i].1);
                let db = &mut self.dbs[d];
                let got = match *k {
                    KA => self.worlds[h]
                        .a
                        .update(
                            db,
                            self.ids.a[id].1,
                            A {
                                code: row.code,
                                n: row.n,
                            },
                        )
                        .map(|old| Out::Row(Run::to_g_a(&old))),
                    KB => self.worlds[h]
                        .b
                        .update(db, self.ids.b[id].1, B { a: a_id, n: row.n })
                        .map(|old| {
                            Out::Row(G {
                                code: 0,
                                a: old.a.map(|a| self.ids.of_a(a)),
                                n: old.n,
                            })
                        }),
                    _ => self.cs[h]
                        .c
                        .update(db, self.ids.c[id].1, C { a: a_id, n: row.n })
                        .map(|old| {
                            Out::Row(G {
                                code: 0,
                                a: old.a.map(|a| self.ids.of_a(a)),
                                n: old.n,
                            })
                        }),
                };
                let want = self.lookup(d, *k, h, id).cloned().and_then(|old| {
                    // Only changed keys are checked.
                    if (*k == KA && old.code != row.code) || (*k != KA && old.a != row.a) {
                        self.check(d, *k, Some(id), &row)?;
                    }
                    self.refs[d].rows[*k].insert(id, row);
                    Ok(Out::Row(old))
                });
                (got.map_err(class), want)
            }
            Op::Delete { db, k, h, id } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let id = need!(self.id(d, *k, Some(h), *id));
                let db = &mut self.dbs[d];
                let got = match *k {
                    KA => self.worlds[h]
                        .a
                        .delete(db, self.ids.a[id].1)
                        .map(|del| Out::Row(Run::to_g_a(&del.row))),
                    KB => self.worlds[h].b.delete(db, self.ids.b[id].1).map(|del| {
                        Out::Row(G {
                            code: 0,
                            a: del.row.a.map(|a| self.ids.of_a(a)),
                            n: del.row.n,
                        })
                    }),
                    _ => self.cs[h].c.delete(db, self.ids.c[id].1).map(|del| {
                        Out::Row(G {
                            code: 0,
                            a: del.row.a.map(|a| self.ids.of_a(a)),
                            n: del.row.n,
                        })
                    }),
                };
                let want = self.lookup(d, *k, h, id).cloned().map(|old| {
                    self.ref_delete(d, *k, id);
                    Out::Row(old)
                });
                (got.map_err(class), want)
            }
            Op::Get { db, k, h, id } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let id = need!(self.id(d, *k, Some(h), *id));
                let db = &self.dbs[d];
                let ids = &self.ids;
                let g = |a: Option<Id<A>>, n: u8| G {
                    code: 0,
                    a: a.map(|a| ids.of_a(a)),
                    n,
                };
                let got = match *k {
                    KA => {
                        let table = self.worlds[h].a;
                        let got = table
                            .get(db, ids.a[id].1)
                            .map(|r| Out::Row(Run::to_g_a(&r)));
                        let live = match &got {
                            Ok(_) => Ok(true),
                            Err(Error::NotFound { .. }) => Ok(false),
                            Err(e) => Err(class(e.clone())),
                        };
                        assert_eq!(table.contains(db, ids.a[id].1).map_err(class), live);
                        got
                    }
                    KB => self.worlds[h]
                        .b
                        .get(db, ids.b[id].1)
                        .map(|r| Out::Row(g(r.a, r.n))),
                    _ => self.cs[h]
                        .c
                        .get(db, ids.c[id].1)
                        .map(|r| Out::Row(g(r.a, r.n))),
                };
                let want = self.lookup(d, *k, h, id).cloned().map(Out::Row);
                (got.map_err(class), want)
            }
            Op::Children { db, c, h, a } => {
                let d = self.slot(*db);
                let k = if *c { KC } else { KB };
                let h = need!(self.handle(d, k, *h));
                let inst = self.a_instance(d, k, h);
                let a = need!(self.id(d, KA, Some(inst), *a));
                let db = &self.dbs[d];
                let ids = &self.ids;
                let aid = ids.a[a].1;
                let got = if *c {
                    self.cs[h]
                        .ac
                        .get(db, aid)
                        .map(|rows| Out::Indexes(rows.map(|r| ids.of_c(r.id())).collect()))
                } else {
                    let ab = self.worlds[h].ab;
                    let has = ab.has_all(db, aid, []);
                    let got = ab
                        .get(db, aid)
                        .map(|rows| Out::Indexes(rows.map(|r| ids.of_b(r.id())).collect()));
                    assert_eq!(has.is_ok(), got.is_ok(), "has_all and get agree on {aid}");
                    got
                };
                let want = if !self.knows(d, k, h) {
                    Err(Fail::UnknownHandle)
                } else if !self.a_resolves(d, a) {
                    Err(Fail::NotFound)
                } else {
                    Ok(Out::Indexes(ref_children(&self.refs[d], k, a)))
                };
                (got.map_err(class), want)
            }
            Op::Add { db, c, h, a, child } => {
                let d = self.slot(*db);
                let k = if *c { KC } else { KB };
                let h = need!(self.handle(d, k, *h));
                let inst = self.a_instance(d, k, h);
                let a = need!(self.id(d, KA, Some(inst), *a));
                let child = need!(self.id(d, k, Some(h), *child));
                let db = &mut self.dbs[d];
                let aid = self.ids.a[a].1;
                let got = if *c {
                    self.cs[h].ac.add(db, aid, self.ids.c[child].1)
                } else {
                    self.worlds[h].ab.add(db, aid, self.ids.b[child].1)
                };
                let want = if !self.knows(d, k, h) {
                    Err(Fail::UnknownHandle)
                } else if !self.a_resolves(d, a) {
                    Err(Fail::NotFound)
                } else {
                    match self.lookup(d, k, h, child) {
                        Err(e) => Err(e),
                        Ok(g) if g.a == Some(a) => Ok(Out::Bool(false)),
                        Ok(_) => {
                            self.refs[d].rows[k].get_mut(&child).unwrap().a = Some(a);
                            Ok(Out::Bool(true))
                        }
                    }
                };
                (got.map(Out::Bool).map_err(class), want)
            }
            Op::SetParent { db, c, h, child, a } => {
                let d = self.slot(*db);
                let k = if *c { KC } else { KB };
                let h = need!(self.handle(d, k, *h));
                let inst = self.a_instance(d, k, h);
                let a = match a {
                    Some(p) => Some(need!(self.id(d, KA, Some(inst), *p))),
                    None => None,
                };
                let child = need!(self.id(d, k, Some(h), *child));
                let db = &mut self.dbs[d];
                let aid = a.map(|a| self.ids.a[a].1);
                let got = if *c {
                    self.cs[h].ac.inverse().set(db, self.ids.c[child].1, aid)
                } else {
                    self.worlds[h]
                        .ab
                        .inverse()
                        .set(db, self.ids.b[child].1, aid)
                };
                let want = if !self.knows(d, k, h) {
                    Err(Fail::UnknownHandle)
                } else if a.is_some_and(|a| !self.a_resolves(d, a)) {
                    Err(Fail::NotFound)
                } else {
                    self.lookup(d, k, h, child).map(drop).map(|_| {
                        self.refs[d].rows[k].get_mut(&child).unwrap().a = a;
                        Out::Unit
                    })
                };
                (got.map(|_| Out::Unit).map_err(class), want)
            }
            Op::Find { db, h, code } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, KA, *h));
                let got = self.worlds[h]
                    .code
                    .find(&self.dbs[d], code)
                    .map(|r| Out::Opt(r.map(|r| self.ids.of_a(r.id()))));
                let want = if !self.knows(d, KA, h) {
                    Err(Fail::UnknownHandle)
                } else {
                    let found = self.refs[d].rows[KA]
                        .iter()
                        .find(|(_, g)| g.code == *code)
                        .map(|(&i, _)| i);
                    Ok(Out::Opt(found))
                };
                (got.map_err(class), want)
            }
            Op::Probe { db } => {
                let d = self.slot(*db);
                self.probe(d, true);
                (Ok(Out::Unit), Ok(Out::Unit))
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}

/// One row, from an iterator that promises (in its size hint) more than it has.
struct Promising<R>(Option<R>);

impl<R> Iterator for Promising<R> {
    type Item = R;
    fn next(&mut self) -> Option<R> {
        self.0.take()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (8, None)
    }
}
