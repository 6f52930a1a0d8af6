//! The SQLite side: the schema in SQL, and each relata method translated to the statements it
//! means, run inside a savepoint so a failing step rolls back.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{Class, Dump, NAMES, V};

pub const SCHEMA: &str = "
PRAGMA foreign_keys = ON;
CREATE TABLE author  (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
CREATE TABLE book    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      author TEXT REFERENCES author(name) ON DELETE SET NULL ON UPDATE CASCADE,
                      title INTEGER NOT NULL);
CREATE INDEX book_author ON book(author);
CREATE TABLE chapter (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      book INTEGER NOT NULL REFERENCES book(id) ON DELETE CASCADE, n INTEGER NOT NULL);
CREATE INDEX chapter_book ON chapter(book);
CREATE TABLE review  (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      book INTEGER NOT NULL REFERENCES book(id) ON DELETE RESTRICT, n INTEGER NOT NULL);
CREATE INDEX review_book ON review(book);
CREATE TABLE note    (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      chapter INTEGER REFERENCES chapter(id) ON DELETE NO ACTION, n INTEGER NOT NULL);
CREATE INDEX note_chapter ON note(chapter);
CREATE TABLE cover   (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      book INTEGER UNIQUE REFERENCES book(id) ON DELETE SET NULL, n INTEGER NOT NULL);
CREATE TABLE tag     (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL);
CREATE TABLE book_tag (id INTEGER PRIMARY KEY AUTOINCREMENT,
                      book INTEGER NOT NULL REFERENCES book(id) ON DELETE CASCADE,
                      tag INTEGER NOT NULL REFERENCES tag(id) ON DELETE CASCADE,
                      n INTEGER NOT NULL, UNIQUE (book, tag));
CREATE INDEX book_tag_tag ON book_tag(tag);
";

/// A column (after `id`) and the table it references (`None`: a plain value).
pub type Column = (&'static str, Option<&'static str>);

/// A schema's tables in dump order, with their columns.
pub type Tables = &'static [(&'static str, &'static [Column])];

/// Tables in dump order, with their columns.
pub const TABLES: [(&str, &[Column]); 8] = [
    ("author", &[("name", None)]),
    ("book", &[("author", None), ("title", None)]),
    ("chapter", &[("book", Some("book")), ("n", None)]),
    ("review", &[("book", Some("book")), ("n", None)]),
    ("note", &[("chapter", Some("chapter")), ("n", None)]),
    ("cover", &[("book", Some("book")), ("n", None)]),
    ("tag", &[("n", None)]),
    (
        "book_tag",
        &[("book", Some("book")), ("tag", Some("tag")), ("n", None)],
    ),
];

pub struct Sql {
    pub conn: Connection,
    /// Rowids issued per table, by creation index.
    pub ids: HashMap<&'static str, Vec<i64>>,
    tables: Tables,
}

/// The error class of a failed statement.
pub fn class(e: rusqlite::Error, deleting: bool) -> Class {
    let msg = e.to_string();
    if msg.contains("NOT NULL") {
        Class::Validation
    } else if msg.contains("UNIQUE") {
        Class::Unique
    } else if msg.contains("FOREIGN KEY") {
        // SQLite reports a blocked delete and a dangling key alike; a delete can only be
        // blocked (RESTRICT / NO ACTION), a write can only dangle.
        if deleting {
            Class::Restricted
        } else {
            Class::ForeignKey
        }
    } else {
        panic!("unexpected SQLite error: {msg}")
    }
}

pub type R<T> = Result<T, Class>;

impl Sql {
    /// The library schema ([`SCHEMA`]).
    pub fn new() -> Self {
        Sql::open(SCHEMA, &TABLES)
    }

    /// A fresh in-memory database with `schema`, whose tables (for dumps) are `tables`.
    pub fn open(schema: &str, tables: Tables) -> Self {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(schema).unwrap();
        let ids = tables.iter().map(|(t, _)| (*t, Vec::new())).collect();
        Sql { conn, ids, tables }
    }

    /// The rowid of creation index `i` of `table`, if it was ever issued.
    pub fn id(&self, table: &str, i: usize) -> i64 {
        self.ids[table][i]
    }

    /// The creation index of rowid `id` in `table`.
    pub fn index(&self, table: &str, id: i64) -> usize {
        self.ids[table]
            .iter()
            .position(|&x| x == id)
            .expect("issued rowid")
    }

    pub fn exists(&self, table: &str, id: i64) -> R<()> {
        let found: Option<i64> = self
            .conn
            .query_row(
                &format!("SELECT id FROM {table} WHERE id = ?1"),
                [id],
                |r| r.get(0),
            )
            .optional()
            .unwrap();
        found.map(drop).ok_or(Class::NotFound)
    }

    /// Runs `body` in a savepoint: released on success, rolled back on error. A failed
    /// statement is classed as a delete's if `deleting`.
    pub fn atomic<T>(
        &mut self,
        deleting: bool,
        body: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> R<T> {
        self.atomic_classed(|c| body(c).map_err(|e| class(e, deleting)))
    }

    /// [`atomic`](Sql::atomic) for a body that classes its own failures (one that mixes
    /// deletes with other statements).
    pub fn atomic_classed<T>(&mut self, body: impl FnOnce(&Connection) -> R<T>) -> R<T> {
        self.conn.execute_batch("SAVEPOINT op").unwrap();
        let result = body(&self.conn);
        let end = if result.is_ok() {
            "RELEASE op"
        } else {
            "ROLLBACK TO op; RELEASE op"
        };
        self.conn.execute_batch(end).unwrap();
        result
    }

    /// INSERT; records the new rowid.
    pub fn insert(&mut self, table: &'static str, cols: &[&str], values: &[V]) -> R<usize> {
        let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            cols.join(", "),
            placeholders.join(", ")
        );
        let args: Vec<rusqlite::types::Value> = values.iter().map(V::sql).collect();
        let id = self.atomic(false, |c| {
            c.execute(&sql, rusqlite::params_from_iter(args))?;
            Ok(c.last_insert_rowid())
        })?;
        let list = self.ids.get_mut(table).unwrap();
        list.push(id);
        Ok(list.len() - 1)
    }

    pub fn update(&mut self, table: &'static str, i: usize, cols: &[&str], values: &[V]) -> R<()> {
        let id = self.id(table, i);
        self.exists(table, id)?;
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{c} = ?{}", k + 2))
            .collect();
        let sql = format!("UPDATE {table} SET {} WHERE id = ?1", sets.join(", "));
        let mut args: Vec<rusqlite::types::Value> = vec![id.into()];
        args.extend(values.iter().map(V::sql));
        self.atomic(false, |c| {
            c.execute(&sql, rusqlite::params_from_iter(args)).map(drop)
        })
    }

    pub fn delete(&mut self, table: &'static str, i: usize) -> R<()> {
        let id = self.id(table, i);
        self.exists(table, id)?;
        self.atomic(true, |c| {
            c.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])
                .map(drop)
        })
    }

    fn author_name(&self, a: i64) -> String {
        self.conn
            .query_row("SELECT name FROM author WHERE id = ?1", [a], |r| r.get(0))
            .unwrap()
    }

    fn books_of(&self, name: &str) -> Vec<i64> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM book WHERE author = ?1 ORDER BY id")
            .unwrap();
        st.query_map([name], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    // Author has many Book, by name (nullable).

    /// The author's name and the books' rowids, or `NotFound` (the author first).
    fn author_args(&self, a: usize, bs: &[usize]) -> R<(String, Vec<i64>)> {
        let a = self.id("author", a);
        self.exists("author", a)?;
        let bs: Vec<i64> = bs.iter().map(|&b| self.id("book", b)).collect();
        bs.iter().try_for_each(|&b| self.exists("book", b))?;
        Ok((self.author_name(a), bs))
    }

    pub fn author_books(&self, a: usize) -> R<Vec<i64>> {
        let a = self.id("author", a);
        self.exists("author", a)?;
        Ok(self.books_of(&self.author_name(a)))
    }

    pub fn author_add(&mut self, a: usize, bs: &[usize]) -> R<usize> {
        let (name, bs) = self.author_args(a, bs)?;
        self.atomic(false, |c| {
            let mut n = 0;
            let mut seen = Vec::new();
            for b in bs {
                if !seen.contains(&b) {
                    seen.push(b);
                    n += c.execute(
                        "UPDATE book SET author = ?1 WHERE id = ?2 AND author IS NOT ?1",
                        params![name, b],
                    )?;
                }
            }
            Ok(n)
        })
    }

    pub fn author_remove(&mut self, a: usize, bs: &[usize]) -> R<usize> {
        let (name, bs) = self.author_args(a, bs)?;
        self.atomic(false, |c| {
            let mut n = 0;
            for b in bs {
                n += c.execute(
                    "UPDATE book SET author = NULL WHERE id = ?1 AND author = ?2",
                    params![b, name],
                )?;
            }
            Ok(n)
        })
    }

    pub fn author_set(&mut self, a: usize, bs: &[usize]) -> R<usize> {
        let (name, bs) = self.author_args(a, bs)?;
        let current = self.books_of(&name);
        self.atomic(false, |c| {
            let mut n = 0;
            for b in &current {
                if !bs.contains(b) {
                    n += c.execute("UPDATE book SET author = NULL WHERE id = ?1", [b])?;
                }
            }
            let mut seen = Vec::new();
            for b in bs {
                if !current.contains(&b) && !seen.contains(&b) {
                    seen.push(b);
                    n += c.execute(
                        "UPDATE book SET author = ?1 WHERE id = ?2",
                        params![name, b],
                    )?;
                }
            }
            Ok(n)
        })
    }

    // Book has many Chapter (non-null: unlinking is NOT NULL).

    pub fn chapters_set(&mut self, b: usize, cs: &[usize]) -> R<usize> {
        let b = self.id("book", b);
        self.exists("book", b)?;
        let cs: Vec<i64> = cs.iter().map(|&c| self.id("chapter", c)).collect();
        cs.iter().try_for_each(|&c| self.exists("chapter", c))?;
        self.atomic(false, |conn| {
            let mut st = conn.prepare("SELECT id FROM chapter WHERE book = ?1 ORDER BY id")?;
            let current: Vec<i64> = st.query_map([b], |r| r.get(0))?.collect::<Result<_, _>>()?;
            let mut n = 0;
            for c in &current {
                if !cs.contains(c) {
                    n += conn.execute("UPDATE chapter SET book = NULL WHERE id = ?1", [c])?;
                }
            }
            let mut seen = Vec::new();
            for c in cs {
                if !current.contains(&c) && !seen.contains(&c) {
                    seen.push(c);
                    n += conn.execute("UPDATE chapter SET book = ?1 WHERE id = ?2", [b, c])?;
                }
            }
            Ok(n)
        })
    }

    pub fn chapters_remove(&mut self, b: usize, c: usize) -> R<bool> {
        let (b, c) = (self.id("book", b), self.id("chapter", c));
        self.exists("book", b)?;
        self.exists("chapter", c)?;
        self.atomic(false, |conn| {
            Ok(conn.execute(
                "UPDATE chapter SET book = NULL WHERE id = ?1 AND book = ?2",
                [c, b],
            )? == 1)
        })
    }

    // Book has one Cover (unique, nullable).

    pub fn cover_of(&self, b: usize) -> R<Option<i64>> {
        let b = self.id("book", b);
        self.exists("book", b)?;
        Ok(self
            .conn
            .query_row("SELECT id FROM cover WHERE book = ?1", [b], |r| r.get(0))
            .optional()
            .unwrap())
    }

    pub fn cover_set(&mut self, b: usize, cover: Option<usize>) -> R<()> {
        let b = self.id("book", b);
        self.exists("book", b)?;
        let cover = cover.map(|c| self.id("cover", c));
        if let Some(c) = cover {
            self.exists("cover", c)?;
        }
        self.atomic(false, |conn| {
            conn.execute(
                "UPDATE cover SET book = NULL WHERE book = ?1 AND id IS NOT ?2",
                params![b, cover],
            )?;
            if let Some(c) = cover {
                conn.execute("UPDATE cover SET book = ?1 WHERE id = ?2", [b, c])?;
            }
            Ok(())
        })
    }

    pub fn cover_create(&mut self, b: usize, n: u8) -> R<usize> {
        let bid = self.id("book", b);
        self.exists("book", bid)?;
        let id = self.atomic(false, |conn| {
            conn.execute("UPDATE cover SET book = NULL WHERE book = ?1", [bid])?;
            conn.execute(
                "INSERT INTO cover (book, n) VALUES (?1, ?2)",
                [bid, i64::from(n)],
            )?;
            Ok(conn.last_insert_rowid())
        })?;
        let list = self.ids.get_mut("cover").unwrap();
        list.push(id);
        Ok(list.len() - 1)
    }

    // Book belongs to many Tag through book_tag (payload n).

    fn check_pair(&self, b: usize, ts: &[usize]) -> R<(i64, Vec<i64>)> {
        let b = self.id("book", b);
        self.exists("book", b)?;
        let ts: Vec<i64> = ts.iter().map(|&t| self.id("tag", t)).collect();
        ts.iter().try_for_each(|&t| self.exists("tag", t))?;
        Ok((b, ts))
    }

    pub fn tags_of(&self, b: usize) -> R<Vec<(i64, i64)>> {
        let (b, _) = self.check_pair(b, &[])?;
        let mut st = self
            .conn
            .prepare("SELECT tag, n FROM book_tag WHERE book = ?1 ORDER BY tag")
            .unwrap();
        Ok(st
            .query_map([b], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect())
    }

    /// add (payload `None`: keep an existing pair, insert 0) / add_with (upsert the payload).
    pub fn tag_add(&mut self, b: usize, t: usize, n: Option<u8>) -> R<bool> {
        let (b, ts) = self.check_pair(b, &[t])?;
        let t = ts[0];
        let (new, id) = self.atomic(false, |conn| {
            let existing: Option<i64> = conn
                .query_row(
                    "SELECT id FROM book_tag WHERE book = ?1 AND tag = ?2",
                    [b, t],
                    |r| r.get(0),
                )
                .optional()?;
            match (existing, n) {
                (Some(_), None) => Ok((false, 0)),
                (Some(j), Some(n)) => {
                    conn.execute(
                        "UPDATE book_tag SET n = ?1 WHERE id = ?2",
                        [i64::from(n), j],
                    )?;
                    Ok((false, 0))
                }
                (None, n) => {
                    conn.execute(
                        "INSERT INTO book_tag (book, tag, n) VALUES (?1, ?2, ?3)",
                        [b, t, i64::from(n.unwrap_or(0))],
                    )?;
                    Ok((true, conn.last_insert_rowid()))
                }
            }
        })?;
        if new {
            self.ids.get_mut("book_tag").unwrap().push(id);
        }
        Ok(new)
    }

    pub fn tag_remove(&mut self, b: usize, ts: &[usize]) -> R<usize> {
        let (b, ts) = self.check_pair(b, ts)?;
        self.atomic(true, |conn| {
            let mut n = 0;
            for t in ts {
                n += conn.execute("DELETE FROM book_tag WHERE book = ?1 AND tag = ?2", [b, t])?;
            }
            Ok(n)
        })
    }

    pub fn tag_set(&mut self, b: usize, ts: &[usize]) -> R<usize> {
        let (bid, tids) = self.check_pair(b, ts)?;
        let (changed, inserted) = self.atomic(true, |conn| {
            let mut n = conn.execute(
                &format!(
                    "DELETE FROM book_tag WHERE book = ?1 AND tag NOT IN ({})",
                    tids.iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                [bid],
            )?;
            // relata inserts the new pairs in the targets' order (as `set_through` documents),
            // not in the order listed; rowids follow creation order, so sort them.
            let mut tids = tids;
            tids.sort_unstable();
            tids.dedup();
            let mut inserted = Vec::new();
            for t in tids {
                let added = conn.execute(
                    "INSERT INTO book_tag (book, tag, n) SELECT ?1, ?2, 0
                     WHERE NOT EXISTS (SELECT 1 FROM book_tag WHERE book = ?1 AND tag = ?2)",
                    [bid, t],
                )?;
                if added == 1 {
                    inserted.push(conn.last_insert_rowid());
                }
                n += added;
            }
            Ok((n, inserted))
        })?;
        self.ids.get_mut("book_tag").unwrap().extend(inserted);
        Ok(changed)
    }

    /// Every table, rows in creation order, keys mapped to creation indexes.
    pub fn dump(&self) -> Dump {
        let index: HashMap<&str, HashMap<i64, usize>> = self
            .ids
            .iter()
            .map(|(t, ids)| (*t, ids.iter().enumerate().map(|(i, id)| (*id, i)).collect()))
            .collect();
        let mut out = Dump::new();
        for &(table, cols) in self.tables {
            let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
            let mut st = self
                .conn
                .prepare(&format!(
                    "SELECT id, {} FROM {table} ORDER BY id",
                    names.join(", ")
                ))
                .unwrap();
            let rows = st
                .query_map([], |r| {
                    let id: i64 = r.get(0)?;
                    let mut values = Vec::new();
                    for (k, (_, refers)) in cols.iter().enumerate() {
                        let v: rusqlite::types::Value = r.get(k + 1)?;
                        values.push(match (v, refers) {
                            (rusqlite::types::Value::Null, _) => V::Null,
                            (rusqlite::types::Value::Integer(x), Some(t)) => V::Ref(index[t][&x]),
                            (rusqlite::types::Value::Integer(x), None) => V::Int(x),
                            (rusqlite::types::Value::Text(s), _) => {
                                V::Name(NAMES.iter().position(|n| *n == s).unwrap())
                            }
                            (other, _) => panic!("unexpected value {other:?}"),
                        });
                    }
                    Ok((index[table][&id], values))
                })
                .unwrap();
            out.insert(table, rows.map(Result::unwrap).collect());
        }
        out
    }
}
