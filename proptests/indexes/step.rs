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
            ($t:expr, $method:ident ( $($arg:expr),* )) => {
                match $t {
                    MEMBER => self.$method::<Member>($($arg),*),
                    BOOK => self.$method::<Book>($($arg),*),
                    LOAN => self.$method::<Loan>($($arg),*),
                    _ => self.$method::<Review>($($arg),*),
                }
            };
        }
        // Runs `$body` with `$h` the handle of index `$ix` and `$conv` its key conversion.
        macro_rules! on_index {
            ($ix:expr, |$h:ident, $conv:ident| $body:expr) => {{
                let s = &self.s;
                match $ix {
                    Ix::Due => {
                        let ($h, $conv) = (s.due, &n_of as &dyn Fn(&K) -> Box<u8>);
                        $body
                    }
                    Ix::MemberDue => {
                        let members = self.ids.members.clone();
                        let pair = move |k: &K| match k {
                            K::Pair(m, d) => Box::new((members[*m], *d)),
                            other => panic!("not a member and due date: {other:?}"),
                        };
                        let ($h, $conv) =
                            (s.member_due, &pair as &dyn Fn(&K) -> Box<(Id<Member>, u8)>);
                        $body
                    }
                    Ix::Active => {
                        let books = self.ids.books.clone();
                        let book = move |k: &K| match k {
                            K::Row(b) => Box::new(books[*b]),
                            other => panic!("not a book: {other:?}"),
                        };
                        let ($h, $conv) = (s.active, &book as &dyn Fn(&K) -> Box<Id<Book>>);
                        $body
                    }
                    Ix::ActiveDue => {
                        let ($h, $conv) = (s.active_due, &n_of as &dyn Fn(&K) -> Box<u8>);
                        $body
                    }
                    Ix::Title => {
                        let ($h, $conv) = (s.title, &text_of as &dyn Fn(&K) -> Box<str>);
                        $body
                    }
                    Ix::Card => {
                        let ($h, $conv) = (s.card, &card_of as &dyn Fn(&K) -> Box<(u8, u8)>);
                        $body
                    }
                }
            }};
        }
        let (got, want): (Res<Out>, Res<Out>) = match op {
            Op::Insert(spec) => {
                let (t, row) = need!(self.row(spec));
                let got = on_table!(t, insert(&row));
                (got, self.model.insert(t, row).map(Out::Index))
            }
            Op::Update {
                row: p,
                with,
                modify,
            } => {
                let (t, row) = need!(self.row(with));
                let i = need!(self.pick(t, *p));
                let got = on_table!(t, update(i, &row, *modify));
                let want = self.model.update(t, i, row).map(|old| match modify {
                    true => Out::Unit,
                    false => Out::Old(old),
                });
                (got, want)
            }
            Op::Delete { t, row } => {
                let i = need!(self.pick(*t, *row));
                let got = on_table!(*t, delete(i));
                let old = self.model.rows(*t)[i].clone();
                let want = self
                    .model
                    .delete(*t, &[i])
                    .map(|d| Out::Removed(old.unwrap(), d));
                (got, want)
            }
            Op::Read { ix, read, lo, hi } => {
                let key = need!(self.key(*ix, lo));
                let range = need!(self.range(*ix, lo, hi));
                let (got, want) =
                    on_index!(*ix, |h, conv| self.read(&h, *ix, conv, *read, &key, &range));
                (Ok(got), Ok(want))
            }
            Op::Select { t, q } => {
                let got = on_table!(*t, select(q));
                let m = &self.model;
                let all: Vec<usize> = m.live(*t).map(|(i, _)| i).collect();
                (Ok(got), Ok(Out::Indexes(q.apply(m.with_rows(*t, &all)))))
            }
            Op::ModifyWhere {
                t,
                filter,
                change,
                boom,
            } => {
                let change = need!(self.change(*t, *change));
                // Storage order, as the database holds it before the update.
                let order: Vec<usize> = self.scan_of(*t, &self.db);
                let live = order.len();
                let m = &self.model;
                let order: Vec<usize> = order
                    .into_iter()
                    .filter(|&i| {
                        let row = m.rows(*t)[i].as_ref().expect("scan lists live rows");
                        filter.is_none_or(|f| f.eval(i, row))
                    })
                    .collect();
                let got = on_table!(*t, modify_where(*filter, change, *boom));
                let want = match boom {
                    Some(Boom::Filter(k)) if *k < live => Err(Fail::Panicked),
                    Some(Boom::Change(k)) => {
                        let want = self.model.modify(*t, &order, change, Some(*k));
                        panic_or(&got, want.map(Out::Count), *k < order.len())
                    }
                    _ => self.model.modify(*t, &order, change, None).map(Out::Count),
                };
                (got, want)
            }
            Op::ModifyRange {
                ix,
                lo,
                hi,
                change,
                panic_at,
            } => {
                let t = ix.table();
                let change = need!(self.change(t, *change));
                let range = need!(self.range(*ix, lo, hi));
                // Index order: the order the range lists its rows in.
                let order = self.model.range(*ix, &range);
                let got = on_index!(*ix, |h, conv| self
                    .modify_range(&h, conv, &range, change, *panic_at));
                let want = self
                    .model
                    .modify(t, &order, change, *panic_at)
                    .map(Out::Count);
                let panics = panic_at.is_some_and(|k| k < order.len());
                let want = panic_or(&got, want, panics);
                (got, want)
            }
            Op::DeleteWhere {
                t,
                filter,
                panic_at,
            } => {
                let m = &self.model;
                let live = m.live(*t).count();
                let roots: Vec<usize> = m
                    .live(*t)
                    .filter(|&(i, r)| filter.is_none_or(|f| f.eval(i, r)))
                    .map(|(i, _)| i)
                    .collect();
                let got = on_table!(*t, delete_where(*filter, *panic_at));
                let want = match panic_at {
                    Some(k) if *k < live => Err(Fail::Panicked),
                    _ => self.model.delete(*t, &roots).map(Out::Deleted),
                };
                (got, want)
            }
            Op::DeleteRange { ix, lo, hi } => {
                let range = need!(self.range(*ix, lo, hi));
                let mut roots = self.model.range(*ix, &range);
                roots.sort_unstable();
                let got = on_index!(*ix, |h, conv| self.delete_range(&h, conv, &range));
                (got, self.model.delete(ix.table(), &roots).map(Out::Deleted))
            }
            Op::InsertMany { rows, panic_at } => {
                let Some(first) = rows.first() else {
                    let got = self.s.loans.insert_many(&mut self.db, []).map_err(class);
                    assert_eq!(got, Ok(Vec::new()));
                    return;
                };
                let t = need!(self.row(first)).0;
                let rows: Vec<R> =
                    need!(rows.iter().map(|r| self.row(r).map(|(_, r)| r)).collect());
                let got = on_table!(t, insert_many(&rows, *panic_at));
                let want = self.model.insert_many(t, rows, *panic_at).map(Out::Indexes);
                (got, want)
            }
            Op::Upsert { ix, row, replace } => {
                let (_, r) = need!(self.row(row));
                let got = match ix {
                    Ix::Title => self.upsert(self.s.title, &r, *replace),
                    Ix::Card => self.upsert(self.s.card, &r, *replace),
                    _ => self.upsert(self.s.active, &r, *replace),
                };
                (got, self.model_upsert(*ix, r, *replace))
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}

/// The reference's answer to a set-based update whose change panics on a selected row (when
/// `panics`): a row checked and refused before that row may be reported instead of the panic,
/// or the panic instead of it, as long as nothing changes (rows changed in place run every
/// change before the first check; rows changed one by one check each in turn).
fn panic_or(got: &Res<Out>, want: Res<Out>, panics: bool) -> Res<Out> {
    if panics && want.is_err() && *got == Err(Fail::Panicked) {
        Err(Fail::Panicked)
    } else {
        want
    }
}
