//! One operation applied to relata and to the reference, and their results compared.

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
        macro_rules! on_table {
            ($t:expr, $method:ident, $($arg:expr),*) => {
                match $t {
                    ORG => self.$method(self.s.orgs, $($arg),*),
                    DEPT => self.$method(self.s.depts, $($arg),*),
                    DESK => self.$method(self.s.desks, $($arg),*),
                    _ => self.$method(self.s.badges, $($arg),*),
                }
            };
        }
        macro_rules! on_hm {
            ($l:expr, $f:ident, $db:expr, $ids:expr, $($arg:expr),*) => {
                match $l {
                    0 => $f(self.s.l1, $db, $ids, $($arg),*),
                    1 => $f(self.s.l2, $db, $ids, $($arg),*),
                    2 => $f(self.s.l3, $db, $ids, $($arg),*),
                    _ => $f(self.s.l5, $db, $ids, $($arg),*),
                }
            };
        }
        let links = self.model.links;
        let (got, want): (Result<Out, Fail>, Result<Out, Fail>) = match op {
            Op::Insert { t, code, fks, n } => {
                let row = need!(self.row_for(*t, *code, fks, *n));
                let got = on_table!(*t, insert, &row);
                (got, self.model.insert(*t, row).map(Out::Index))
            }
            Op::Update {
                t,
                row: p,
                code,
                fks,
                n,
                modify,
            } => {
                let i = need!(self.pick(*t, *p));
                let row = need!(self.row_for(*t, *code, fks, *n));
                let old = self.model.rows(*t)[i].clone();
                let got = on_table!(*t, update, i, &row, *modify);
                let want = self.model.update(*t, i, row).map(|_| match modify {
                    true => Out::Unit,
                    false => Out::Old(old.unwrap()),
                });
                (got, want)
            }
            Op::Delete { t, row: p } => {
                let i = need!(self.pick(*t, *p));
                let old = self.model.rows(*t)[i].clone();
                let got = on_table!(*t, delete, i);
                let want = self
                    .model
                    .delete(*t, i)
                    .map(|d| Out::Deleted(old.unwrap(), d));
                (got, want)
            }
            Op::Children { l, s } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let got = on_hm!(*l, hm_children, &self.db, &self.ids, s).map(Out::Indexes);
                (got, self.model.children(*l, s).map(Out::Indexes))
            }
            Op::Add { l, s, c } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let c = need!(self.pick(links[*l].child, *c));
                let got = on_hm!(*l, hm_add, &mut self.db, &self.ids, s, c);
                (got, self.model.add(*l, s, c).map(Out::Bool))
            }
            Op::Remove { l, s, cs, policy } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let cs = need!(self.picks(links[*l].child, cs));
                let got = on_hm!(*l, hm_remove, &mut self.db, &self.ids, s, &cs, *policy);
                (got, self.model.remove(*l, s, &cs, *policy).map(Out::Count))
            }
            Op::Set { l, s, cs, policy } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let cs = need!(self.picks(links[*l].child, cs));
                let got = on_hm!(*l, hm_set, &mut self.db, &self.ids, s, &cs, *policy);
                (got, self.model.set(*l, s, &cs, *policy).map(Out::Count))
            }
            Op::Create { l, s, fks, n } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let child = links[*l].child;
                let row = need!(self.row_for(child, Arg::Raw(0), fks, *n));
                // Whatever key the value holds, `create` overwrites it.
                let got = on_hm!(*l, hm_create, &mut self.db, &mut self.ids, s, &row);
                (got, self.model.create(*l, s, row).map(Out::Index))
            }
            Op::HasAll { l, s, cs } => {
                let s = need!(self.pick(links[*l].parent, *s));
                let cs = need!(self.picks(links[*l].child, cs));
                let got = on_hm!(*l, hm_has_all, &self.db, &self.ids, s, &cs);
                (got, self.model.has_all(*l, s, &cs).map(Out::Bool))
            }
            Op::SetParent { l, c, s } => {
                let c = need!(self.pick(links[*l].child, *c));
                let s = match s {
                    Some(s) => Some(need!(self.pick(links[*l].parent, *s))),
                    None => None,
                };
                let got = match l {
                    3 => self
                        .s
                        .l4
                        .inverse()
                        .set(
                            &mut self.db,
                            self.ids.badges[c],
                            s.map(|s| self.ids.orgs[s]),
                        )
                        .map(|_| Out::Unit)
                        .map_err(class),
                    _ => on_hm!(*l, bt_set, &mut self.db, &self.ids, c, s),
                };
                (got, self.model.set_parent(*l, c, s).map(|_| Out::Unit))
            }
            Op::Parent { l, c } => {
                let c = need!(self.pick(links[*l].child, *c));
                let got = match l {
                    3 => self
                        .s
                        .l4
                        .inverse()
                        .get(&self.db, self.ids.badges[c])
                        .map(|p| p.map(|r| ix(&self.ids, r.id())))
                        .map_err(class),
                    _ => on_hm!(*l, bt_get, &self.db, &self.ids, c),
                };
                (
                    got.map(Out::Parent),
                    self.model.parent(*l, c).map(Out::Parent),
                )
            }
            Op::SetOne { s, c, policy } => {
                let s = need!(self.pick(ORG, *s));
                let c = match c {
                    Some(c) => Some(need!(self.pick(BADGE, *c))),
                    None => None,
                };
                let got = self
                    .s
                    .l4
                    .set_with(
                        &mut self.db,
                        self.ids.orgs[s],
                        c.map(|c| self.ids.badges[c]),
                        policy_of(*policy),
                    )
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.model.set_one(3, s, c, *policy).map(|_| Out::Unit))
            }
            Op::CreateOne { s, n } => {
                let s = need!(self.pick(ORG, *s));
                let badge = Badge {
                    org_code: None,
                    n: *n,
                };
                let got = self
                    .s
                    .l4
                    .create(&mut self.db, self.ids.orgs[s], badge)
                    .map_err(class)
                    .map(|id| Out::Index(self.ids.record(id)));
                let row = R {
                    code: 0,
                    fks: [None, None, None],
                    n: *n,
                };
                (got, self.model.create_one(3, s, row).map(Out::Index))
            }
            Op::Find { dept, code } => {
                let got = if *dept {
                    self.s
                        .dept_key
                        .find(&self.db, code)
                        .unwrap()
                        .map(|r| ix(&self.ids, r.id()))
                } else {
                    self.s
                        .org_code
                        .find(&self.db, code)
                        .unwrap()
                        .map(|r| ix(&self.ids, r.id()))
                };
                let t = if *dept { DEPT } else { ORG };
                (
                    Ok(Out::Parent(got)),
                    Ok(Out::Parent(self.model.find(t, *code))),
                )
            }
            Op::Snapshot => {
                if self.snapshots.len() < 2 {
                    let dump = self.model.dump();
                    self.snapshots.push((self.db.fork(), dump));
                }
                (Ok(Out::Unit), Ok(Out::Unit))
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}
