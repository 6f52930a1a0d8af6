//! The relata side: the schema, creation indexes of issued ids, and the dumps both sides are compared by.

use super::*;

pub(super) struct Schema {
    pub(super) nodes: Table<Node>,
    pub(super) leaves: Table<Leaf>,
    pub(super) twigs: Table<Twig>,
    pub(super) buds: Table<Bud>,
    by_tag: Unique<Node, u8>,
    pub(super) node_leaves: HasMany<Node, Leaf>,
    pub(super) node_twigs: HasMany<Node, Twig>,
    pub(super) node_buds: HasMany<Node, Bud, u8>,
}

pub(super) fn schema() -> (Schema, Db) {
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
pub(super) struct Ids {
    pub(super) nodes: Vec<Id<Node>>,
    pub(super) leaves: Vec<Id<Leaf>>,
    pub(super) twigs: Vec<Id<Twig>>,
    pub(super) buds: Vec<Id<Bud>>,
    pub(super) index: HashMap<(usize, u64), usize>,
}

impl Ids {
    fn of<T>(&self, t: usize, id: Id<T>) -> usize {
        self.index[&(t, id.seq())]
    }

    pub(super) fn record<T>(
        &mut self,
        t: usize,
        id: Id<T>,
        list: fn(&mut Ids) -> &mut Vec<Id<T>>,
    ) -> usize {
        let v = list(self);
        v.push(id);
        let i = v.len() - 1;
        self.index.insert((t, id.seq()), i);
        i
    }

    pub(super) fn len(&self, t: usize) -> usize {
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
pub(super) struct Dump {
    pub(super) model: Model,
    pub(super) children: Vec<(usize, usize, Vec<usize>)>,
    pub(super) parents: Vec<(usize, usize, Option<usize>)>,
    tags: Vec<Option<usize>>,
}

pub(super) fn model_dump(m: &Model) -> Dump {
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

pub(super) struct Run {
    pub(super) s: Schema,
    pub(super) ids: Ids,
}

impl Run {
    /// Reads everything back through relata (no row is cloned: the fuse stays disarmed).
    pub(super) fn dump(&self, db: &Db) -> Dump {
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

pub(super) fn resolve(model: &Model, t: usize, p: Pick) -> Option<usize> {
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
pub(super) enum Out {
    Unit,
    Index(usize),
    Count(usize),
    Bool(bool),
}

/// The outcome of one write on relata's side: `None` if it panicked.
pub(super) type Got = Option<Res<Out>>;
