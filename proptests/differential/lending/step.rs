//! One operation applied to relata and to SQLite, and their results compared.

use super::*;

impl Both {
    pub(super) fn step(&mut self, op: &Op) {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return,
                }
            };
        }
        let (got, want): (Result<Out, Class>, Result<Out, Class>) = match op {
            &Op::InsertMember { n } => {
                let r = &mut self.rel;
                let got = r.members.insert(&mut r.db, Member { n });
                (
                    got.map(|id| Out::Index(r.ids.record(id)))
                        .map_err(rel_class),
                    self.sql
                        .insert("member", &["n"], &[V::Int(n)])
                        .map(Out::Index),
                )
            }
            &Op::InsertBook { title, n } => {
                let r = &mut self.rel;
                let row = Book {
                    title: NAMES[title].to_string(),
                    n,
                };
                let got = r.books.insert(&mut r.db, row);
                (
                    got.map(|id| Out::Index(r.ids.record(id)))
                        .map_err(rel_class),
                    self.sql
                        .insert("book", &["title", "n"], &[V::Name(title), V::Int(n)])
                        .map(Out::Index),
                )
            }
            &Op::InsertLoan {
                member,
                book,
                due_on,
                returned,
            } => {
                let (m, b) = (need!(self.member(member)), need!(self.book(book)));
                let r = &mut self.rel;
                let row = Loan {
                    member: r.ids.id(m),
                    book: r.ids.id(b),
                    due_on,
                    returned,
                };
                let got = r.loans.insert(&mut r.db, row);
                let values = [
                    V::Int(self.sql.id("member", m)),
                    V::Int(self.sql.id("book", b)),
                    V::Int(due_on),
                    V::Int(i64::from(returned)),
                ];
                (
                    got.map(|id| Out::Index(r.ids.record(id)))
                        .map_err(rel_class),
                    self.sql
                        .insert("loan", &["member", "book", "due_on", "returned"], &values)
                        .map(Out::Index),
                )
            }
            &Op::InsertFine { loan, amount } => {
                let l = need!(self.loan(loan));
                let r = &mut self.rel;
                let got = r.fines.insert(
                    &mut r.db,
                    Fine {
                        loan: r.ids.id(l),
                        amount,
                    },
                );
                let values = [V::Int(self.sql.id("loan", l)), V::Int(amount)];
                (
                    got.map(|id| Out::Index(r.ids.record(id)))
                        .map_err(rel_class),
                    self.sql
                        .insert("fine", &["loan", "amount"], &values)
                        .map(Out::Index),
                )
            }
            Op::InsertLoans { loans } => {
                let mut rows = Vec::new();
                for &(member, book, due_on, returned) in loans {
                    rows.push((
                        need!(self.member(member)),
                        need!(self.book(book)),
                        due_on,
                        returned,
                    ));
                }
                let r = &mut self.rel;
                let values = rows.iter().map(|&(m, b, due_on, returned)| Loan {
                    member: r.ids.id(m),
                    book: r.ids.id(b),
                    due_on,
                    returned,
                });
                let got = r
                    .loans
                    .insert_many(&mut r.db, values.collect::<Vec<_>>())
                    .map(|new| Out::Indexes(new.into_iter().map(|id| r.ids.record(id)).collect()))
                    .map_err(rel_class);
                let args: Vec<[i64; 4]> = rows
                    .iter()
                    .map(|&(m, b, due_on, returned)| {
                        [
                            self.sql.id("member", m),
                            self.sql.id("book", b),
                            due_on,
                            i64::from(returned),
                        ]
                    })
                    .collect();
                let want = self.sql.atomic(false, |c| {
                    let mut new = Vec::new();
                    for a in &args {
                        c.execute(
                            "INSERT INTO loan (member, book, due_on, returned) VALUES (?1, ?2, ?3, ?4)",
                            *a,
                        )?;
                        new.push(c.last_insert_rowid());
                    }
                    Ok(new)
                });
                let want = want.map(|new| {
                    let list = self.sql.ids.get_mut("loan").unwrap();
                    Out::Indexes(
                        new.into_iter()
                            .map(|id| {
                                list.push(id);
                                list.len() - 1
                            })
                            .collect(),
                    )
                });
                (got, want)
            }
            &Op::UpdateLoan {
                loan,
                book,
                due_on,
                returned,
            } => {
                let (l, b) = (need!(self.loan(loan)), need!(self.book(book)));
                let r = &mut self.rel;
                let id = r.ids.id::<Loan>(l);
                let book_id = r.ids.id(b);
                let got = r.loans.modify(&mut r.db, id, |row| {
                    row.book = book_id;
                    row.due_on = due_on;
                    row.returned = returned;
                });
                let values = [
                    V::Int(self.sql.id("book", b)),
                    V::Int(due_on),
                    V::Int(i64::from(returned)),
                ];
                (
                    got.map(|()| Out::Unit).map_err(rel_class),
                    self.sql
                        .update("loan", l, &["book", "due_on", "returned"], &values)
                        .map(|()| Out::Unit),
                )
            }
            &Op::DeleteMember { member } => {
                let m = need!(self.member(member));
                let r = &mut self.rel;
                let got = r.members.delete(&mut r.db, r.ids.id::<Member>(m));
                (
                    got.map(|_| Out::Unit).map_err(rel_class),
                    self.sql.delete("member", m).map(|()| Out::Unit),
                )
            }
            &Op::DeleteBook { book } => {
                let b = need!(self.book(book));
                let r = &mut self.rel;
                let got = r.books.delete(&mut r.db, r.ids.id::<Book>(b));
                (
                    got.map(|_| Out::Unit).map_err(rel_class),
                    self.sql.delete("book", b).map(|()| Out::Unit),
                )
            }
            &Op::DeleteLoan { loan } => {
                let l = need!(self.loan(loan));
                let r = &mut self.rel;
                let got = r.loans.delete(&mut r.db, r.ids.id::<Loan>(l));
                (
                    got.map(|_| Out::Unit).map_err(rel_class),
                    self.sql.delete("loan", l).map(|()| Out::Unit),
                )
            }
            &Op::UpdateWhere { filter, set } => {
                let w = need!(self.resolve_where(filter));
                let s = need!(self.resolve_set(set));
                let selected = self.selected(w);
                if self.loans_order_dependent(&selected, s) {
                    return;
                }
                let fails_twice = self.fails_twice(&selected, s);
                let mut args = Vec::new();
                let statement = format!(
                    "UPDATE loan SET {} WHERE {}",
                    self.set_sql(s, &mut args),
                    self.where_sql(w, &mut args)
                );
                let ids = &self.rel.ids;
                let got = if let W::All = w {
                    self.rel
                        .loans
                        .modify_all(&mut self.rel.db, |l| Self::apply(ids, s, l))
                } else {
                    let filter = Self::filter(ids, w);
                    self.rel
                        .loans
                        .modify_where(&mut self.rel.db, filter, |l| Self::apply(ids, s, l))
                };
                settle(
                    fails_twice,
                    got.map(Out::Count).map_err(rel_class),
                    self.sql_update(&statement, args),
                )
            }
            Op::UpdateDue {
                lo,
                hi,
                active,
                set,
            } => {
                let s = need!(self.resolve_set(*set));
                let (rel_range, (sql_lo, sql_hi)) = Self::due_range(lo, hi);
                let index = if *active {
                    self.rel.active_due
                } else {
                    self.rel.due
                };
                let selected = self.rel_ids(index.range(&self.rel.db, rel_range).unwrap());
                if self.loans_order_dependent(&selected, s) {
                    return;
                }
                let fails_twice = self.fails_twice(&selected, s);
                let mut args = Vec::new();
                let mut cond = cond("due_on", &sql_lo, &sql_hi, &mut args);
                if *active {
                    cond.push_str(" AND returned = 0");
                }
                let statement = format!(
                    "UPDATE loan SET {} WHERE {cond}",
                    self.set_sql(s, &mut args)
                );
                let ids = &self.rel.ids;
                let got =
                    index.modify_range(&mut self.rel.db, rel_range, |l| Self::apply(ids, s, l));
                settle(
                    fails_twice,
                    got.map(Out::Count).map_err(rel_class),
                    self.sql_update(&statement, args),
                )
            }
            Op::UpdateMemberDue { lo, hi, set } => {
                let s = need!(self.resolve_set(*set));
                let (rel_range, (sql_lo, sql_hi)) = need!(self.member_due_range(lo, hi));
                let index = self.rel.member_due;
                let selected = self.rel_ids(index.range(&self.rel.db, rel_range).unwrap());
                if self.loans_order_dependent(&selected, s) {
                    return;
                }
                let fails_twice = self.fails_twice(&selected, s);
                let mut args = Vec::new();
                let cond = cond("(member, due_on)", &sql_lo, &sql_hi, &mut args);
                let statement = format!(
                    "UPDATE loan SET {} WHERE {cond}",
                    self.set_sql(s, &mut args)
                );
                let ids = &self.rel.ids;
                let got =
                    index.modify_range(&mut self.rel.db, rel_range, |l| Self::apply(ids, s, l));
                settle(
                    fails_twice,
                    got.map(Out::Count).map_err(rel_class),
                    self.sql_update(&statement, args),
                )
            }
            Op::UpdateActive { lo, hi, set } => {
                let s = need!(self.resolve_set(*set));
                let (rel_range, (sql_lo, sql_hi)) = need!(self.book_range(lo, hi));
                let index = self.rel.active;
                let selected = self.rel_ids(index.range(&self.rel.db, rel_range).unwrap());
                if self.loans_order_dependent(&selected, s) {
                    return;
                }
                let fails_twice = self.fails_twice(&selected, s);
                let mut args = Vec::new();
                let cond = cond("book", &sql_lo, &sql_hi, &mut args);
                let statement = format!(
                    "UPDATE loan SET {} WHERE returned = 0 AND {cond}",
                    self.set_sql(s, &mut args)
                );
                let ids = &self.rel.ids;
                let got =
                    index.modify_range(&mut self.rel.db, rel_range, |l| Self::apply(ids, s, l));
                settle(
                    fails_twice,
                    got.map(Out::Count).map_err(rel_class),
                    self.sql_update(&statement, args),
                )
            }
            Op::UpdateTitles { lo, hi, set } => {
                let (rel_range, (sql_lo, sql_hi)) = Self::title_range(lo, hi);
                let db = &self.rel.db;
                let keys: Vec<(Option<String>, Option<String>)> = self
                    .rel
                    .title
                    .range::<str, _>(db, rel_range)
                    .unwrap()
                    .map(|b| {
                        let new = match set {
                            BookSet::N(_) => b.title.clone(),
                            BookSet::Title(t) => NAMES[*t].to_string(),
                        };
                        (Some(b.title.clone()), Some(new))
                    })
                    .collect();
                if order_dependent(&keys) {
                    return;
                }
                let mut args = Vec::new();
                let cond = cond("title", &sql_lo, &sql_hi, &mut args);
                let assign = match set {
                    BookSet::N(n) => {
                        args.push(Value::Integer(*n));
                        format!("n = ?{}", args.len())
                    }
                    BookSet::Title(t) => {
                        args.push(Value::Text(NAMES[*t].to_string()));
                        format!("title = ?{}", args.len())
                    }
                };
                let statement = format!("UPDATE book SET {assign} WHERE {cond}");
                let set = *set;
                let got = self
                    .rel
                    .title
                    .modify_range::<str, _>(&mut self.rel.db, rel_range, |b| match set {
                        BookSet::N(n) => b.n = n,
                        BookSet::Title(t) => b.title = NAMES[t].to_string(),
                    });
                (
                    got.map(Out::Count).map_err(rel_class),
                    self.sql_update(&statement, args),
                )
            }
            &Op::DeleteLoansWhere { filter } => {
                let w = need!(self.resolve_where(filter));
                let mut args = Vec::new();
                let statement = format!("DELETE FROM loan WHERE {}", self.where_sql(w, &mut args));
                let r = &mut self.rel;
                let got = r.loans.delete_where(&mut r.db, Self::filter(&r.ids, w));
                let got = got.map(|report| Out::Deleted(self.deleted(&report)));
                (got.map_err(rel_class), self.sql_delete(&statement, args))
            }
            &Op::DeleteBooksWhere { below } => {
                let r = &mut self.rel;
                let got = r.books.delete_where(&mut r.db, |b| b.n < below);
                let got = got.map(|report| Out::Deleted(self.deleted(&report)));
                (
                    got.map_err(rel_class),
                    self.sql_delete("DELETE FROM book WHERE n < ?1", vec![Value::Integer(below)]),
                )
            }
            &Op::DeleteMembersWhere { below } => {
                let r = &mut self.rel;
                let got = r.members.delete_where(&mut r.db, |m| m.n < below);
                let got = got.map(|report| Out::Deleted(self.deleted(&report)));
                (
                    got.map_err(rel_class),
                    self.sql_delete(
                        "DELETE FROM member WHERE n < ?1",
                        vec![Value::Integer(below)],
                    ),
                )
            }
            Op::DeleteDue { lo, hi, active } => {
                let (rel_range, (sql_lo, sql_hi)) = Self::due_range(lo, hi);
                let index = if *active {
                    self.rel.active_due
                } else {
                    self.rel.due
                };
                let mut args = Vec::new();
                let mut cond = cond("due_on", &sql_lo, &sql_hi, &mut args);
                if *active {
                    cond.push_str(" AND returned = 0");
                }
                let got = index.delete_range(&mut self.rel.db, rel_range);
                let got = got.map(|report| Out::Deleted(self.deleted(&report)));
                (
                    got.map_err(rel_class),
                    self.sql_delete(&format!("DELETE FROM loan WHERE {cond}"), args),
                )
            }
            Op::DeleteTitles { lo, hi } => {
                let (rel_range, (sql_lo, sql_hi)) = Self::title_range(lo, hi);
                let mut args = Vec::new();
                let cond = cond("title", &sql_lo, &sql_hi, &mut args);
                let got = self
                    .rel
                    .title
                    .delete_range::<str, _>(&mut self.rel.db, rel_range);
                let got = got.map(|report| Out::Deleted(self.deleted(&report)));
                (
                    got.map_err(rel_class),
                    self.sql_delete(&format!("DELETE FROM book WHERE {cond}"), args),
                )
            }
            Op::ReadDue { lo, hi, active } => {
                let (rel_range, (sql_lo, sql_hi)) = Self::due_range(lo, hi);
                let index = if *active {
                    self.rel.active_due
                } else {
                    self.rel.due
                };
                let db = &self.rel.db;
                let got = Out::Listed(
                    self.ids_of(index.range(db, rel_range).unwrap().map(|r| r.id())),
                    index.count_range(db, rel_range).unwrap(),
                );
                let mut args = Vec::new();
                let mut cond = cond("due_on", &sql_lo, &sql_hi, &mut args);
                if *active {
                    cond.push_str(" AND returned = 0");
                }
                let want = Out::Listed(
                    self.sql_ids(
                        "loan",
                        &format!("SELECT id FROM loan WHERE {cond} ORDER BY due_on, id"),
                        args.clone(),
                    ),
                    self.sql_count(&format!("SELECT count(*) FROM loan WHERE {cond}"), args),
                );
                (Ok(got), Ok(want))
            }
            Op::ReadMemberDue { lo, hi } => {
                let (rel_range, (sql_lo, sql_hi)) = need!(self.member_due_range(lo, hi));
                let db = &self.rel.db;
                let index = self.rel.member_due;
                let got = Out::Listed(
                    self.ids_of(index.range(db, rel_range).unwrap().map(|r| r.id())),
                    index.count_range(db, rel_range).unwrap(),
                );
                let mut args = Vec::new();
                let cond = cond("(member, due_on)", &sql_lo, &sql_hi, &mut args);
                let want = Out::Listed(
                    self.sql_ids(
                        "loan",
                        &format!("SELECT id FROM loan WHERE {cond} ORDER BY member, due_on, id"),
                        args.clone(),
                    ),
                    self.sql_count(&format!("SELECT count(*) FROM loan WHERE {cond}"), args),
                );
                (Ok(got), Ok(want))
            }
            Op::ReadTitles { lo, hi } => {
                let (rel_range, (sql_lo, sql_hi)) = Self::title_range(lo, hi);
                let db = &self.rel.db;
                let index = self.rel.title;
                let got = Out::Listed(
                    self.ids_of(
                        index
                            .range::<str, _>(db, rel_range)
                            .unwrap()
                            .map(|r| r.id()),
                    ),
                    index.count_range::<str, _>(db, rel_range).unwrap(),
                );
                let mut args = Vec::new();
                let cond = cond("title", &sql_lo, &sql_hi, &mut args);
                let want = Out::Listed(
                    self.sql_ids(
                        "book",
                        &format!("SELECT id FROM book WHERE {cond} ORDER BY title, id"),
                        args.clone(),
                    ),
                    self.sql_count(&format!("SELECT count(*) FROM book WHERE {cond}"), args),
                );
                (Ok(got), Ok(want))
            }
            Op::QueryDue {
                lo,
                hi,
                returned,
                newest_first,
                limit,
                offset,
            } => {
                let (rel_range, (sql_lo, sql_hi)) = Self::due_range(lo, hi);
                let mut query = Query::new().offset(*offset);
                if let Some(b) = *returned {
                    query = query.filter(move |l: &Row<Loan>| l.returned == b);
                }
                if *newest_first {
                    query = query.order_by(|a: &Row<Loan>, b: &Row<Loan>| b.id().cmp(&a.id()));
                }
                if let Some(n) = *limit {
                    query = query.limit(n);
                }
                let rows = self.rel.due.query(&self.rel.db, rel_range, &query).unwrap();
                let got = Out::Indexes(self.ids_of(rows.iter().map(|r| r.id())));
                let mut args = Vec::new();
                let mut cond = cond("due_on", &sql_lo, &sql_hi, &mut args);
                if let Some(b) = *returned {
                    args.push(Value::Integer(i64::from(b)));
                    cond.push_str(&format!(" AND returned = ?{}", args.len()));
                }
                let order = if *newest_first {
                    "id DESC"
                } else {
                    "due_on, id"
                };
                let limit = limit.map_or(-1, |n| n as i64);
                let statement = format!(
                    "SELECT id FROM loan WHERE {cond} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
                );
                let want = Out::Indexes(self.sql_ids("loan", &statement, args));
                (Ok(got), Ok(want))
            }
            &Op::FindActive { book } => {
                let b = need!(self.book(book));
                let r = &self.rel;
                let found = r.active.find(&r.db, &r.ids.id::<Book>(b)).unwrap();
                let got = Out::Maybe(found.map(|l| r.ids.of(l.id())));
                let want = self.sql_ids(
                    "loan",
                    "SELECT id FROM loan WHERE book = ?1 AND returned = 0",
                    vec![Value::Integer(self.sql.id("book", b))],
                );
                assert!(want.len() <= 1, "SQLite's partial unique index holds");
                (Ok(got), Ok(Out::Maybe(want.first().copied())))
            }
            &Op::FindTitle { title } => {
                let r = &self.rel;
                let found = r.title.find(&r.db, NAMES[title]).unwrap();
                let got = Out::Maybe(found.map(|b| r.ids.of(b.id())));
                let want = self.sql_ids(
                    "book",
                    "SELECT id FROM book WHERE title = ?1",
                    vec![Value::Text(NAMES[title].to_string())],
                );
                (Ok(got), Ok(Out::Maybe(want.first().copied())))
            }
            &Op::UpsertBook { title, n, replace } => {
                let r = &mut self.rel;
                let row = Book {
                    title: NAMES[title].to_string(),
                    n,
                };
                let got = if replace {
                    r.title.upsert(&mut r.db, row)
                } else {
                    r.title.find_or_insert(&mut r.db, row)
                };
                let got = got.map(|(id, inserted)| {
                    let i = if inserted {
                        r.ids.record(id)
                    } else {
                        r.ids.of(id)
                    };
                    Out::Upserted(i, inserted)
                });
                let action = if replace {
                    "DO UPDATE SET n = excluded.n"
                } else {
                    "DO NOTHING"
                };
                let statement = format!(
                    "INSERT INTO book (title, n) VALUES (?1, ?2) ON CONFLICT (title) {action}"
                );
                let args = vec![Value::Text(NAMES[title].to_string()), Value::Integer(n)];
                let want = self.sql_upsert(
                    "book",
                    &statement,
                    args,
                    "SELECT id FROM book WHERE title = ?1",
                    vec![Value::Text(NAMES[title].to_string())],
                );
                (got.map_err(rel_class), want)
            }
            &Op::UpsertActive {
                member,
                book,
                due_on,
                replace,
            } => {
                let (m, b) = (need!(self.member(member)), need!(self.book(book)));
                let r = &mut self.rel;
                let row = Loan {
                    member: r.ids.id(m),
                    book: r.ids.id(b),
                    due_on,
                    returned: false,
                };
                let got = if replace {
                    r.active.upsert(&mut r.db, row)
                } else {
                    r.active.find_or_insert(&mut r.db, row)
                };
                let got = got.map(|(id, inserted)| {
                    let i = if inserted {
                        r.ids.record(id)
                    } else {
                        r.ids.of(id)
                    };
                    Out::Upserted(i, inserted)
                });
                let action = if replace {
                    "DO UPDATE SET member = excluded.member, due_on = excluded.due_on"
                } else {
                    "DO NOTHING"
                };
                let statement = format!(
                    "INSERT INTO loan (member, book, due_on, returned) VALUES (?1, ?2, ?3, 0)
                     ON CONFLICT (book) WHERE returned = 0 {action}"
                );
                let (mid, bid) = (self.sql.id("member", m), self.sql.id("book", b));
                let args = vec![
                    Value::Integer(mid),
                    Value::Integer(bid),
                    Value::Integer(due_on),
                ];
                let want = self.sql_upsert(
                    "loan",
                    &statement,
                    args,
                    "SELECT id FROM loan WHERE book = ?1 AND returned = 0",
                    vec![Value::Integer(bid)],
                );
                (got.map_err(rel_class), want)
            }
        };
        assert_eq!(
            got, want,
            "relata (left) and SQLite (right) disagree on the result of {op:?}"
        );
    }
}
