//! The naive reference: rows by creation index, with the schema's keys and actions.

use super::*;

/// A reference row: `key` is the tag (Node, Bud) or the node's creation index (Leaf, Twig).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct G {
    pub(super) key: Option<usize>,
    pub(super) n: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fail {
    NotFound,
    Validation,
    ForeignKey,
    Unique,
}

pub(super) type Res<T> = Result<T, Fail>;

/// The reference: rows by creation index, `None` once deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Model {
    pub(super) tables: [Vec<Option<G>>; TABLES],
}

impl Model {
    pub(super) fn live(&self, t: usize, i: usize) -> bool {
        self.tables[t].get(i).is_some_and(Option::is_some)
    }

    pub(super) fn need(&self, t: usize, i: usize) -> Res<&G> {
        self.tables[t]
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Fail::NotFound)
    }

    pub(super) fn node_with_tag(&self, tag: usize) -> Option<usize> {
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
    pub(super) fn children(&self, t: usize, p: usize) -> Res<Vec<usize>> {
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

    pub(super) fn insert(&mut self, t: usize, row: G) -> Res<usize> {
        self.check(t, None, &row)?;
        self.tables[t].push(Some(row));
        Ok(self.tables[t].len() - 1)
    }

    /// Replaces a row; a node's new tag carries on to its buds.
    pub(super) fn update(&mut self, t: usize, i: usize, row: G) -> Res<()> {
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
    pub(super) fn delete(&mut self, t: usize, i: usize) -> Res<()> {
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
    pub(super) fn add(&mut self, t: usize, p: usize, c: usize) -> Res<bool> {
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
    pub(super) fn set(&mut self, t: usize, p: usize, cs: &[usize], delete: bool) -> Res<usize> {
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
    pub(super) fn create(&mut self, t: usize, p: usize, n: u8) -> Res<usize> {
        let key = self.key_for(t, p)?;
        self.insert(t, G { key: Some(key), n })
    }

    /// BelongsTo `create`: a new node with `tag`, and twig `c` points at it.
    pub(super) fn create_node(&mut self, c: usize, tag: u8, n: u8) -> Res<usize> {
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
    pub(super) fn remove(&mut self, t: usize, p: usize, cs: &[usize]) -> Res<usize> {
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
