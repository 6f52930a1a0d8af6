//! Rows whose `Clone` panics on demand, against a naive reference.
//!
//! Every row type here counts its clones against a thread-local fuse: an operation armed with
//! fuse `k` panics in the `k`-th row clone it makes (0: the first). relata clones rows when a
//! write touches storage still shared with a snapshot (`Db::fork`, an open transaction), when
//! `Table::modify` copies the row, and when a relink goes through a full replace (here: the
//! hand-built foreign key of `Bud`, which relata cannot prove independent of other indexes).
//! The histories take snapshots often, so writes keep copying shared storage.
//!
//! Schema: `Node { tag }` (tag unique); `Leaf.node` (non-null, Cascade); `Twig.node` (nullable,
//! SetNull); `Bud.tag` → `Node.tag` (nullable, hand-built key; on update Cascade, on delete
//! SetNull).
//!
//! Each operation runs inside `catch_unwind`. After every operation: `check_integrity` passes;
//! the whole database (rows by id, children and parents of every association, tag lookups)
//! equals the reference; an operation that panicked or failed left the database equal to a fork
//! taken just before it, and the database keeps working; snapshots never change. Panics also
//! unwind out of transactions (`Abort`), which must then leave the database as before.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use relata::{Db, Error, ForeignKey, HasMany, Id, Row, Table, Unique, Unlink, field, fk};

thread_local! {
    /// Clones left before one panics; `None`: disarmed.
    static FUSE: Cell<Option<u32>> = const { Cell::new(None) };
}

/// The marker of every deliberate panic.
const BOOM: &str = "deliberate panic";

/// Counts one row clone against the fuse, and panics when it runs out.
fn tick() {
    FUSE.with(|f| match f.get() {
        Some(0) => {
            f.set(None);
            std::panic::panic_any(BOOM);
        }
        Some(k) => f.set(Some(k - 1)),
        None => {}
    });
}

/// Runs `f` with the fuse armed (`None`: disarmed); whether it panicked, and its value.
fn armed<R>(fuse: Option<u32>, f: impl FnOnce() -> R) -> Option<R> {
    FUSE.with(|c| c.set(fuse));
    let out = catch_unwind(AssertUnwindSafe(f));
    FUSE.with(|c| c.set(None));
    match out {
        Ok(v) => Some(v),
        Err(payload) if payload.downcast_ref::<&str>() == Some(&BOOM) => None,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Keeps deliberate panics out of the test output; everything else goes to the default hook.
fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&BOOM) {
                default(info);
            }
        }));
    });
}

macro_rules! touchy {
    ($name:ident { $($field:ident: $ty:ty),* }) => {
        #[derive(Debug, PartialEq)]
        struct $name {
            $($field: $ty),*
        }
        impl Clone for $name {
            fn clone(&self) -> Self {
                tick();
                $name { $($field: self.$field.clone()),* }
            }
        }
    };
}

touchy!(Node { tag: u8, n: u8 });
touchy!(Leaf { node: Id<Node>, n: u8 });
touchy!(Twig { node: Option<Id<Node>>, n: u8 });
touchy!(Bud { tag: Option<u8>, n: u8 });

const NODE: usize = 0;
const LEAF: usize = 1;
const TWIG: usize = 2;
const BUD: usize = 3;
const TABLES: usize = 4;
/// Tags used by the histories: few, so that they collide.
const TAGS: u8 = 6;

/// A reference row: `key` is the tag (Node, Bud) or the node's creation index (Leaf, Twig).
#[derive(Clone, Debug, PartialEq, Eq)]
struct G {
    key: Option<usize>,
    n: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    NotFound,
    Validation,
    ForeignKey,
    Unique,
}

type Res<T> = Result<T, Fail>;

/// The reference: rows by creation index, `None` once deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Model {
    tables: [Vec<Option<G>>; TABLES],
}

impl Model {
    fn live(&self, t: usize, i: usize) -> bool {
        self.tables[t].get(i).is_some_and(Option::is_some)
    }

    fn need(&self, t: usize, i: usize) -> Res<&G> {
        self.tables[t]
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Fail::NotFound)
    }

    fn node_with_tag(&self, tag: usize) -> Option<usize> {
        (0..self.tables[NODE].len()).find(|&i| {
            self.tables[NODE][i]
                .as_ref()
                .is_some_and(|r| r.key == Some(tag))
        })
    }

    /// Live rows of `t` whose key is `key`, in creation order.
    fn holding(&self, t: usize, key: usize) -> Vec<usize> {
        (0..self.tables[t].len())
            .filter(|&i| {
                self.tables[t][i]
                    .as_ref()
                    .is_some_and(|r| r.key == Some(key))
            })
            .collect()
    }

    /// The children of node `p` in `t` (Leaf, Twig by index; Bud by tag).
    fn children(&self, t: usize, p: usize) -> Res<Vec<usize>> {
        let node = self.need(NODE, p)?;
        Ok(match t {
            BUD => self.holding(BUD, node.key.unwrap()),
            _ => self.holding(t, p),
        })
    }

    fn check(&self, t: usize, id: Option<usize>, row: &G) -> Res<()> {
        match (t, row.key) {
            (NODE, Some(tag)) => match self.node_with_tag(tag) {
                Some(other) if Some(other) != id => Err(Fail::Unique),
                _ => Ok(()),
            },
            (LEAF | TWIG, Some(p)) if !self.live(NODE, p) => Err(Fail::ForeignKey),
            (BUD, Some(tag)) if self.node_with_tag(tag).is_none() => Err(Fail::ForeignKey),
            _ => Ok(()),
        }
    }

    fn insert(&mut self, t: usize, row: G) -> Res<usize> {
        self.check(t, None, &row)?;
        self.tables[t].push(Some(row));
        Ok(self.tables[t].len() - 1)
    }

    /// Replaces a row; a node's new tag carries on to its buds.
    fn update(&mut self, t: usize, i: usize, row: G) -> Res<()> {
        let old = self.need(t, i)?.clone();
        if old.key != row.key {
            self.check(t, Some(i), &row)?;
        }
        if t == NODE && old.key != row.key {
            for b in self.holding(BUD, old.key.unwrap()) {
                self.tables[BUD][b].as_mut().unwrap().key = row.key;
            }
        }
        self.tables[t][i] = Some(row);
        Ok(())
    }

    /// Deletes a row; a node's leaves go with it, its twigs and buds are nulled.
    fn delete(&mut self, t: usize, i: usize) -> Res<()> {
        let old = self.need(t, i)?.clone();
        if t == NODE {
            for l in self.holding(LEAF, i) {
                self.tables[LEAF][l] = None;
            }
            for w in self.holding(TWIG, i) {
                self.tables[TWIG][w].as_mut().unwrap().key = None;
            }
            for b in self.holding(BUD, old.key.unwrap()) {
                self.tables[BUD][b].as_mut().unwrap().key = None;
            }
        }
        self.tables[t][i] = None;
        Ok(())
    }

    /// The key node `p` is referenced by from table `t`.
    fn key_for(&self, t: usize, p: usize) -> Res<usize> {
        let node = self.need(NODE, p)?;
        Ok(if t == BUD { node.key.unwrap() } else { p })
    }

    /// HasMany `add` (Twig, Bud).
    fn add(&mut self, t: usize, p: usize, c: usize) -> Res<bool> {
        if !self.live(t, c) {
            self.need(NODE, p)?;
            return Err(Fail::NotFound);
        }
        let key = self.key_for(t, p)?;
        let row = self.tables[t][c].as_mut().unwrap();
        if row.key == Some(key) {
            return Ok(false);
        }
        row.key = Some(key);
        Ok(true)
    }

    /// HasMany `set_with` (Twig: nulls; Leaf with `delete`: deletes; Leaf without: rejects).
    fn set(&mut self, t: usize, p: usize, cs: &[usize], delete: bool) -> Res<usize> {
        let key = self.key_for(t, p)?;
        for &c in cs {
            self.need(t, c)?;
        }
        let current = self.holding(t, key);
        let unlink: Vec<usize> = current
            .iter()
            .copied()
            .filter(|c| !cs.contains(c))
            .collect();
        if !unlink.is_empty() && t == LEAF && !delete {
            return Err(Fail::Validation);
        }
        let mut link: Vec<usize> = cs
            .iter()
            .copied()
            .filter(|c| !current.contains(c))
            .collect();
        link.sort_unstable();
        link.dedup();
        for &c in &unlink {
            if t == LEAF {
                self.tables[t][c] = None;
            } else {
                self.tables[t][c].as_mut().unwrap().key = None;
            }
        }
        for &c in &link {
            self.tables[t][c].as_mut().unwrap().key = Some(key);
        }
        Ok(unlink.len() + link.len())
    }

    /// HasMany `create`: a new child of node `p`.
    fn create(&mut self, t: usize, p: usize, n: u8) -> Res<usize> {
        let key = self.key_for(t, p)?;
        self.insert(t, G { key: Some(key), n })
    }

    /// BelongsTo `create`: a new node with `tag`, and twig `c` points at it.
    fn create_node(&mut self, c: usize, tag: u8, n: u8) -> Res<usize> {
        self.need(TWIG, c)?;
        let p = self.insert(
            NODE,
            G {
                key: Some(tag.into()),
                n,
            },
        )?;
        self.tables[TWIG][c].as_mut().unwrap().key = Some(p);
        Ok(p)
    }

    /// HasMany `remove_many` (Twig).
    fn remove(&mut self, t: usize, p: usize, cs: &[usize]) -> Res<usize> {
        let key = self.key_for(t, p)?;
        for &c in cs {
            self.need(t, c)?;
        }
        let mut gone: Vec<usize> = self
            .holding(t, key)
            .into_iter()
            .filter(|c| cs.contains(c))
            .collect();
        gone.dedup();
        for &c in &gone {
            self.tables[t][c].as_mut().unwrap().key = None;
        }
        Ok(gone.len())
    }
}

#[derive(Clone, Copy, Debug)]
struct Pick {
    live: bool,
    n: usize,
}

fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), any::<usize>()).prop_map(|(live, n)| Pick { live, n })
}

#[derive(Clone, Debug)]
enum Kind {
    /// `key`: a tag (Node, Bud) or a pick of a node (Leaf, Twig); `None`: null (or tag 0).
    Insert {
        t: usize,
        key: Option<Pick>,
        n: u8,
    },
    Update {
        t: usize,
        row: Pick,
        key: Option<Pick>,
        n: u8,
    },
    Delete {
        t: usize,
        row: Pick,
    },
    /// `Table::modify`; `panics`: the change closure itself panics.
    Modify {
        t: usize,
        row: Pick,
        n: u8,
        panics: bool,
    },
    /// Twig (`t == TWIG`) or Bud (`t == BUD`) `add`.
    Add {
        t: usize,
        node: Pick,
        child: Pick,
    },
    /// Twig `set`, or Leaf `set_with` (`delete`: the delete policy).
    Set {
        t: usize,
        node: Pick,
        children: Vec<Pick>,
        delete: bool,
    },
    RemoveTwigs {
        node: Pick,
        twigs: Vec<Pick>,
    },
    /// HasMany `create` of a Leaf, Twig or Bud.
    Create {
        t: usize,
        node: Pick,
        n: u8,
    },
    /// BelongsTo `create`: a new node for a twig (an insert, then a relink in another table).
    CreateNode {
        twig: Pick,
        tag: u8,
        n: u8,
    },
    /// Keeps a fork of the database (at most a few; the oldest goes).
    Snapshot,
    /// Drops every snapshot: storage stops being shared.
    Release,
    Begin {
        closure: bool,
    },
    Commit,
    Rollback,
    /// Panics inside the current transaction: the panic unwinds out of it.
    Abort,
}

#[derive(Clone, Debug)]
struct Op {
    kind: Kind,
    /// The row clone that panics during this operation (0: the first), if any.
    fuse: Option<u32>,
    /// Whether a fork shares the storage while the operation runs (so its writes copy rows).
    share: bool,
}

fn op() -> impl Strategy<Value = Op> {
    let table = 0..TABLES;
    let key = || prop::option::weighted(0.9, pick());
    let picks = || prop::collection::vec(pick(), 0..4);
    let kind = prop_oneof![
        8 => (table.clone(), key(), any::<u8>()).prop_map(|(t, key, n)| Kind::Insert { t, key, n }),
        4 => (table.clone(), pick(), key(), any::<u8>()).prop_map(|(t, row, key, n)| Kind::Update { t, row, key, n }),
        3 => (table.clone(), pick()).prop_map(|(t, row)| Kind::Delete { t, row }),
        3 => (table, pick(), any::<u8>(), prop::bool::weighted(0.2))
            .prop_map(|(t, row, n, panics)| Kind::Modify { t, row, n, panics }),
        3 => (prop::sample::select(&[TWIG, BUD][..]), pick(), pick())
            .prop_map(|(t, node, child)| Kind::Add { t, node, child }),
        2 => (prop::sample::select(&[LEAF, TWIG][..]), pick(), picks(), any::<bool>())
            .prop_map(|(t, node, children, delete)| Kind::Set { t, node, children, delete }),
        1 => (pick(), picks()).prop_map(|(node, twigs)| Kind::RemoveTwigs { node, twigs }),
        2 => (prop::sample::select(&[LEAF, TWIG, BUD][..]), pick(), any::<u8>())
            .prop_map(|(t, node, n)| Kind::Create { t, node, n }),
        1 => (pick(), 0..TAGS, any::<u8>()).prop_map(|(twig, tag, n)| Kind::CreateNode { twig, tag, n }),
        6 => Just(Kind::Snapshot),
        1 => Just(Kind::Release),
        1 => any::<bool>().prop_map(|closure| Kind::Begin { closure }),
        1 => Just(Kind::Commit),
        1 => Just(Kind::Rollback),
        1 => Just(Kind::Abort),
    ];
    (
        kind,
        prop::option::weighted(0.6, prop_oneof![4 => 0..2u32, 1 => 0..16u32]),
        prop::bool::weighted(0.5),
    )
        .prop_map(|(kind, fuse, share)| Op { kind, fuse, share })
}

fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::Validation { .. } => Fail::Validation,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        other => panic!("unexpected error class: {other}"),
    }
}

struct Schema {
    nodes: Table<Node>,
    leaves: Table<Leaf>,
    twigs: Table<Twig>,
    buds: Table<Bud>,
    by_tag: Unique<Node, u8>,
    node_leaves: HasMany<Node, Leaf>,
    node_twigs: HasMany<Node, Twig>,
    node_buds: HasMany<Node, Bud, u8>,
}

fn schema() -> (Schema, Db) {
    let mut db = Db::new();
    let nodes = db.create_table().unwrap();
    let leaves = db.create_table().unwrap();
    let twigs = db.create_table().unwrap();
    let buds = db.create_table().unwrap();
    let by_tag = db.unique(nodes, field!(Node, tag)).unwrap();
    let node_leaves = db.has_many(nodes, leaves, fk!(Leaf, node)).unwrap();
    let node_twigs = db.has_many(nodes, twigs, fk!(Twig, node)).unwrap();
    // Hand-built: relata cannot see the field, so every relink is a full replace (a clone).
    let bud_tag = ForeignKey::optional("tag", |b: &Bud| &b.tag, |b: &mut Bud| &mut b.tag);
    let node_buds = db
        .has_many_by(by_tag, buds, bud_tag, relata::AssocOptions::new())
        .unwrap();
    let s = Schema {
        nodes,
        leaves,
        twigs,
        buds,
        by_tag,
        node_leaves,
        node_twigs,
        node_buds,
    };
    (s, db)
}

/// Ids issued per table, by creation index.
#[derive(Default)]
struct Ids {
    nodes: Vec<Id<Node>>,
    leaves: Vec<Id<Leaf>>,
    twigs: Vec<Id<Twig>>,
    buds: Vec<Id<Bud>>,
    index: HashMap<(usize, u64), usize>,
}

impl Ids {
    fn of<T>(&self, t: usize, id: Id<T>) -> usize {
        self.index[&(t, id.seq())]
    }

    fn record<T>(&mut self, t: usize, id: Id<T>, list: fn(&mut Ids) -> &mut Vec<Id<T>>) -> usize {
        let v = list(self);
        v.push(id);
        let i = v.len() - 1;
        self.index.insert((t, id.seq()), i);
        i
    }

    fn len(&self, t: usize) -> usize {
        [
            self.nodes.len(),
            self.leaves.len(),
            self.twigs.len(),
            self.buds.len(),
        ][t]
    }
}

/// Everything observable: rows, every association's children per node and parent per child,
/// and the tag lookups.
#[derive(Debug, PartialEq)]
struct Dump {
    model: Model,
    children: Vec<(usize, usize, Vec<usize>)>,
    parents: Vec<(usize, usize, Option<usize>)>,
    tags: Vec<Option<usize>>,
}

fn model_dump(m: &Model) -> Dump {
    let mut children = Vec::new();
    let mut parents = Vec::new();
    for t in [LEAF, TWIG, BUD] {
        for p in 0..m.tables[NODE].len() {
            if let Ok(c) = m.children(t, p) {
                children.push((t, p, c));
            }
        }
        for c in 0..m.tables[t].len() {
            if let Some(row) = &m.tables[t][c] {
                let parent = match t {
                    BUD => row.key.and_then(|tag| m.node_with_tag(tag)),
                    _ => row.key,
                };
                parents.push((t, c, parent));
            }
        }
    }
    Dump {
        model: m.clone(),
        children,
        parents,
        tags: (0..usize::from(TAGS)).map(|t| m.node_with_tag(t)).collect(),
    }
}

struct Run {
    s: Schema,
    ids: Ids,
}

impl Run {
    /// Reads everything back through relata (no row is cloned: the fuse stays disarmed).
    fn dump(&self, db: &Db) -> Dump {
        let ids = &self.ids;
        let mut m = Model::default();
        for t in 0..TABLES {
            m.tables[t] = vec![None; ids.len(t)];
        }
        for r in self.s.nodes.iter(db).unwrap() {
            m.tables[NODE][ids.of(NODE, r.id())] = Some(G {
                key: Some(r.tag.into()),
                n: r.n,
            });
        }
        for r in self.s.leaves.iter(db).unwrap() {
            m.tables[LEAF][ids.of(LEAF, r.id())] = Some(G {
                key: Some(ids.of(NODE, r.node)),
                n: r.n,
            });
        }
        for r in self.s.twigs.iter(db).unwrap() {
            m.tables[TWIG][ids.of(TWIG, r.id())] = Some(G {
                key: r.node.map(|p| ids.of(NODE, p)),
                n: r.n,
            });
        }
        for r in self.s.buds.iter(db).unwrap() {
            m.tables[BUD][ids.of(BUD, r.id())] = Some(G {
                key: r.tag.map(usize::from),
                n: r.n,
            });
        }
        let mut children = Vec::new();
        let mut parents = Vec::new();
        fn kids<'a, T: 'a>(
            ids: &Ids,
            t: usize,
            rows: impl Iterator<Item = Row<'a, T>>,
        ) -> Vec<usize> {
            rows.map(|r| ids.of(t, r.id())).collect()
        }
        macro_rules! assoc {
            ($t:expr, $hm:expr, $table:expr) => {
                for p in 0..ids.nodes.len() {
                    if let Ok(rows) = $hm.get(db, ids.nodes[p]) {
                        let c = kids(ids, $t, rows);
                        assert_eq!(
                            $hm.count(db, ids.nodes[p]).unwrap(),
                            c.len(),
                            "count == get().len()"
                        );
                        children.push(($t, p, c));
                    }
                }
                for r in $table.iter(db).unwrap() {
                    let parent = $hm.inverse().get(db, r.id()).unwrap();
                    parents.push(($t, ids.of($t, r.id()), parent.map(|p| ids.of(NODE, p.id()))));
                }
            };
        }
        assoc!(LEAF, self.s.node_leaves, self.s.leaves);
        assoc!(TWIG, self.s.node_twigs, self.s.twigs);
        assoc!(BUD, self.s.node_buds, self.s.buds);
        let tags = (0..TAGS)
            .map(|t| {
                self.s
                    .by_tag
                    .find(db, &t)
                    .unwrap()
                    .map(|r| ids.of(NODE, r.id()))
            })
            .collect();
        Dump {
            model: m,
            children,
            parents,
            tags,
        }
    }
}

fn resolve(model: &Model, t: usize, p: Pick) -> Option<usize> {
    let rows = &model.tables[t];
    if p.live {
        let live: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_some()).collect();
        if !live.is_empty() {
            return Some(live[p.n % live.len()]);
        }
    }
    (!rows.is_empty()).then(|| p.n % rows.len())
}

#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Index(usize),
    Count(usize),
    Bool(bool),
}

/// The outcome of one write on relata's side: `None` if it panicked.
type Got = Option<Res<Out>>;

/// Applies one (non-transaction) operation: relata under the fuse, the reference if relata did
/// not panic. Returns whether relata panicked.
fn step(run: &mut Run, db: &mut Db, model: &mut Model, op: &Op) -> bool {
    let fuse = op.fuse;
    let s = &run.s;
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return false,
            }
        };
    }
    let r = |m: &Model, t, p| resolve(m, t, p);
    // The reference row a write stores, and its relata counterparts.
    let key_of = |m: &Model, t: usize, key: Option<Pick>| -> Option<Option<usize>> {
        match (t, key) {
            (NODE, k) => Some(Some(k.map_or(0, |p| p.n % usize::from(TAGS)))),
            (BUD, Some(p)) => Some(Some(p.n % usize::from(TAGS))),
            (LEAF, None) => Some(Some(r(m, NODE, Pick { live: true, n: 0 })?)),
            (_, Some(p)) => Some(Some(r(m, NODE, p)?)),
            (_, None) => Some(None),
        }
    };
    let nodes = run.ids.nodes.clone();
    let node_id = |k: Option<usize>| k.map(|i| nodes[i]);
    let tag = |k: Option<usize>| k.map(|t| t as u8);
    let (got, want): (Got, Res<Out>) = match &op.kind {
        Kind::Insert { t, key, n } => {
            let key = need!(key_of(model, *t, *key));
            let node = if matches!(*t, LEAF | TWIG) {
                node_id(key)
            } else {
                None
            };
            let (n, tag) = (*n, tag(key));
            macro_rules! insert {
                ($table:expr, $row:expr, $t:expr, $list:ident) => {
                    armed(fuse, || $table.insert(db, $row)).map(|res| {
                        res.map(|id| Out::Index(run.ids.record($t, id, |i| &mut i.$list)))
                            .map_err(class)
                    })
                };
            }
            let got = match *t {
                NODE => insert!(
                    s.nodes,
                    Node {
                        tag: tag.unwrap(),
                        n
                    },
                    NODE,
                    nodes
                ),
                LEAF => insert!(
                    s.leaves,
                    Leaf {
                        node: node.unwrap(),
                        n
                    },
                    LEAF,
                    leaves
                ),
                TWIG => insert!(s.twigs, Twig { node, n }, TWIG, twigs),
                _ => insert!(s.buds, Bud { tag, n }, BUD, buds),
            };
            let want = match got {
                Some(_) => model.insert(*t, G { key, n }).map(Out::Index),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Update { t, row, key, n } => {
            let ids = &run.ids;
            let i = need!(r(model, *t, *row));
            let key = need!(key_of(model, *t, *key));
            let n = *n;
            let got = armed(fuse, || match *t {
                NODE => s
                    .nodes
                    .update(
                        db,
                        ids.nodes[i],
                        Node {
                            tag: tag(key).unwrap(),
                            n,
                        },
                    )
                    .map(drop),
                LEAF => s
                    .leaves
                    .update(
                        db,
                        ids.leaves[i],
                        Leaf {
                            node: node_id(key).unwrap(),
                            n,
                        },
                    )
                    .map(drop),
                TWIG => s
                    .twigs
                    .update(
                        db,
                        ids.twigs[i],
                        Twig {
                            node: node_id(key),
                            n,
                        },
                    )
                    .map(drop),
                _ => s
                    .buds
                    .update(db, ids.buds[i], Bud { tag: tag(key), n })
                    .map(drop),
            });
            let got = got.map(|res| res.map(|_| Out::Unit).map_err(class));
            let want = match got {
                Some(_) => model.update(*t, i, G { key, n }).map(|_| Out::Unit),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Modify { t, row, n, panics } => {
            let ids = &run.ids;
            let i = need!(r(model, *t, *row));
            let (n, panics) = (*n, *panics);
            let change = |v: &mut u8| {
                if panics {
                    std::panic::panic_any(BOOM);
                }
                *v = n;
            };
            let got = armed(fuse, || match *t {
                NODE => s.nodes.modify(db, ids.nodes[i], |r| change(&mut r.n)),
                LEAF => s.leaves.modify(db, ids.leaves[i], |r| change(&mut r.n)),
                TWIG => s.twigs.modify(db, ids.twigs[i], |r| change(&mut r.n)),
                _ => s.buds.modify(db, ids.buds[i], |r| change(&mut r.n)),
            });
            let got = got.map(|res| res.map(|_| Out::Unit).map_err(class));
            let want = match got {
                Some(_) => model.need(*t, i).cloned().and_then(|old| {
                    model
                        .update(*t, i, G { key: old.key, n })
                        .map(|_| Out::Unit)
                }),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Delete { t, row } => {
            let ids = &run.ids;
            let i = need!(r(model, *t, *row));
            let got = armed(fuse, || match *t {
                NODE => s.nodes.delete(db, ids.nodes[i]).map(drop),
                LEAF => s.leaves.delete(db, ids.leaves[i]).map(drop),
                TWIG => s.twigs.delete(db, ids.twigs[i]).map(drop),
                _ => s.buds.delete(db, ids.buds[i]).map(drop),
            });
            let got = got.map(|res| res.map(|_| Out::Unit).map_err(class));
            let want = match got {
                Some(_) => model.delete(*t, i).map(|_| Out::Unit),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Add { t, node, child } => {
            let ids = &run.ids;
            let p = need!(r(model, NODE, *node));
            let c = need!(r(model, *t, *child));
            let got = armed(fuse, || match *t {
                TWIG => s.node_twigs.add(db, ids.nodes[p], ids.twigs[c]),
                _ => s.node_buds.add(db, ids.nodes[p], ids.buds[c]),
            });
            let got = got.map(|res| res.map(Out::Bool).map_err(class));
            let want = match got {
                Some(_) => model.add(*t, p, c).map(Out::Bool),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Set {
            t,
            node,
            children,
            delete,
        } => {
            let ids = &run.ids;
            let p = need!(r(model, NODE, *node));
            let cs: Vec<usize> = need!(children.iter().map(|&c| r(model, *t, c)).collect());
            let policy = delete.then_some(Unlink::Delete);
            let got = armed(fuse, || match *t {
                LEAF => s.node_leaves.set_with(
                    db,
                    ids.nodes[p],
                    cs.iter().map(|&c| ids.leaves[c]),
                    policy,
                ),
                _ => {
                    s.node_twigs
                        .set_with(db, ids.nodes[p], cs.iter().map(|&c| ids.twigs[c]), None)
                }
            });
            let got = got.map(|res| res.map(Out::Count).map_err(class));
            let want = match got {
                Some(_) => model.set(*t, p, &cs, *delete).map(Out::Count),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::RemoveTwigs { node, twigs } => {
            let ids = &run.ids;
            let p = need!(r(model, NODE, *node));
            let cs: Vec<usize> = need!(twigs.iter().map(|&c| r(model, TWIG, c)).collect());
            let got = armed(fuse, || {
                s.node_twigs
                    .remove_many(db, ids.nodes[p], cs.iter().map(|&c| ids.twigs[c]))
            });
            let got = got.map(|res| res.map(Out::Count).map_err(class));
            let want = match got {
                Some(_) => model.remove(TWIG, p, &cs).map(Out::Count),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Create { t, node, n } => {
            let p = need!(r(model, NODE, *node));
            let (n, node) = (*n, run.ids.nodes[p]);
            macro_rules! create {
                ($hm:expr, $row:expr, $t:expr, $list:ident) => {
                    armed(fuse, || $hm.create(db, node, $row)).map(|res| {
                        res.map(|id| Out::Index(run.ids.record($t, id, |i| &mut i.$list)))
                            .map_err(class)
                    })
                };
            }
            // Whatever key the value holds, `create` overwrites it.
            let got = match *t {
                LEAF => create!(
                    s.node_leaves,
                    Leaf {
                        node: Id::default(),
                        n
                    },
                    LEAF,
                    leaves
                ),
                TWIG => create!(s.node_twigs, Twig { node: None, n }, TWIG, twigs),
                _ => create!(s.node_buds, Bud { tag: Some(TAGS), n }, BUD, buds),
            };
            let want = match got {
                Some(_) => model.create(*t, p, n).map(Out::Index),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::CreateNode { twig, tag, n } => {
            let c = need!(r(model, TWIG, *twig));
            let (tag, n, twig) = (*tag, *n, run.ids.twigs[c]);
            let got = armed(fuse, || {
                s.node_twigs.inverse().create(db, twig, Node { tag, n })
            })
            .map(|res| {
                res.map(|id| Out::Index(run.ids.record(NODE, id, |i| &mut i.nodes)))
                    .map_err(class)
            });
            let want = match got {
                Some(_) => model.create_node(c, tag, n).map(Out::Index),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Snapshot
        | Kind::Release
        | Kind::Begin { .. }
        | Kind::Commit
        | Kind::Rollback
        | Kind::Abort => unreachable!("handled by run_until_end"),
    };
    match got {
        None => true,
        Some(got) => {
            assert_eq!(got, want, "result of {op:?}");
            false
        }
    }
}

/// Snapshots taken so far, each with the reference dump it must keep showing.
type Snapshots = Vec<(Db, Model)>;

/// How a (nested) run of operations ended.
enum End {
    Commit,
    Rollback,
    OutOfOps,
}

/// After a rollback the reference goes back to its state at `Begin`, but rows created inside
/// stay issued, and dead.
fn widened(run: &Run, mut saved: Model) -> Model {
    for t in 0..TABLES {
        saved.tables[t].resize(run.ids.len(t), None);
    }
    saved
}

/// Applies operations until the transaction at `depth` ends, checking after every one.
fn run_until_end(
    run: &mut Run,
    db: &mut Db,
    model: &mut Model,
    snapshots: &mut Snapshots,
    ops: &mut std::slice::Iter<'_, Op>,
    depth: usize,
) -> End {
    while let Some(op) = ops.next() {
        let before = db.fork();
        let model_before = model.clone();
        let mut panicked = false;
        match &op.kind {
            Kind::Commit if depth > 0 => return End::Commit,
            Kind::Rollback if depth > 0 => return End::Rollback,
            Kind::Abort if depth > 0 => std::panic::panic_any(BOOM),
            Kind::Commit | Kind::Rollback | Kind::Abort => {}
            Kind::Snapshot => {
                if snapshots.len() == 3 {
                    snapshots.remove(0);
                }
                snapshots.push((db.fork(), model.clone()));
            }
            Kind::Release => snapshots.clear(),
            Kind::Begin { closure } => {
                // A panic anywhere inside (an `Abort`) unwinds out of the transaction.
                let kept = armed(None, || {
                    if *closure {
                        db.transaction(|tx| {
                            match run_until_end(run, tx, model, snapshots, ops, depth + 1) {
                                End::Commit => Ok(()),
                                End::Rollback | End::OutOfOps => Err(()),
                            }
                        })
                        .is_ok()
                    } else {
                        let mut tx = db.begin();
                        match run_until_end(run, &mut tx, model, snapshots, ops, depth + 1) {
                            End::Commit => {
                                tx.commit();
                                true
                            }
                            End::Rollback | End::OutOfOps => {
                                tx.rollback();
                                false
                            }
                        }
                    }
                });
                if kept != Some(true) {
                    *model = widened(run, model_before.clone());
                }
                panicked = kept.is_none();
            }
            _ => {
                let shared = op.share.then(|| db.fork());
                panicked = step(run, db, model, op);
                drop(shared);
            }
        }
        if let Err(e) = db.check_integrity() {
            panic!("integrity after {op:?} (panicked: {panicked}): {e}");
        }
        let now = run.dump(db);
        assert_eq!(
            now,
            model_dump(&widened(run, model.clone())),
            "database differs from the reference after {op:?} (panicked: {panicked})"
        );
        if panicked || widened(run, model_before) == *model {
            assert_eq!(
                run.dump(&before),
                now,
                "{op:?} changed the database (panicked: {panicked})"
            );
        }
        for (snapshot, frozen) in snapshots.iter() {
            assert_eq!(
                run.dump(snapshot),
                model_dump(&widened(run, frozen.clone())),
                "a snapshot changed after {op:?}"
            );
        }
    }
    End::OutOfOps
}

fn run_ops(ops: &[Op]) {
    quiet_deliberate_panics();
    let (s, mut db) = schema();
    let mut run = Run {
        s,
        ids: Ids::default(),
    };
    let mut model = Model::default();
    let mut snapshots = Vec::new();
    run_until_end(
        &mut run,
        &mut db,
        &mut model,
        &mut snapshots,
        &mut ops.iter(),
        0,
    );
}

proptest! {
    #[test]
    fn panicking_clones_leave_the_database_as_before(ops in prop::collection::vec(op(), 1..64)) {
        run_ops(&ops);
    }
}
