//! The plain-mutable design behind the [`Store`] trait: `slotmap` rows and a `SecondaryMap` of
//! child lists.

use slotmap::{SecondaryMap, SlotMap, new_key_type};

use crate::Store;

new_key_type! {
    struct ParentKey;
    struct ChildKey;
}

struct SlotChild {
    parent: Option<ParentKey>,
    payload: u64,
}

/// The plain-mutable design relata could have had: `slotmap` rows (generational keys) and a
/// `SecondaryMap` from parent to a creation-ordered `Vec` of children. No O(1) fork.
pub struct SlotmapStore {
    parents: SlotMap<ParentKey, ()>,
    children: SlotMap<ChildKey, SlotChild>,
    index: SecondaryMap<ParentKey, Vec<ChildKey>>,
    pids: Vec<ParentKey>,
    cids: Vec<ChildKey>,
}

impl SlotmapStore {
    fn unlink(&mut self, cid: ChildKey) {
        if let Some(old) = self.children[cid].parent.take() {
            let list = &mut self.index[old];
            let pos = list.iter().position(|&x| x == cid).unwrap();
            list.remove(pos);
        }
    }

    fn link(&mut self, pid: ParentKey, cid: ChildKey) {
        self.unlink(cid);
        self.children[cid].parent = Some(pid);
        self.index.entry(pid).unwrap().or_default().push(cid);
    }
}

impl Store for SlotmapStore {
    const NAME: &'static str = "slotmap";

    fn new() -> Self {
        SlotmapStore {
            parents: SlotMap::with_key(),
            children: SlotMap::with_key(),
            index: SecondaryMap::new(),
            pids: Vec::new(),
            cids: Vec::new(),
        }
    }
    fn insert_parent(&mut self) {
        self.pids.push(self.parents.insert(()));
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let cid = self.children.insert(SlotChild {
            parent: None,
            payload,
        });
        if let Some(p) = parent {
            self.link(self.pids[p], cid);
        }
        self.cids.push(cid);
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.unlink(self.cids[c]);
        self.children.remove(self.cids[c]);
        let cid = self.children.insert(SlotChild {
            parent: None,
            payload,
        });
        if let Some(p) = parent {
            self.link(self.pids[p], cid);
        }
        self.cids[c] = cid;
    }
    fn add(&mut self, p: usize, c: usize) {
        let (pid, cid) = (self.pids[p], self.cids[c]);
        if self.children[cid].parent != Some(pid) {
            self.link(pid, cid);
        }
    }
    fn remove(&mut self, p: usize, c: usize) {
        let cid = self.cids[c];
        if self.children[cid].parent == Some(self.pids[p]) {
            self.unlink(cid);
        }
    }
    fn count(&self, p: usize) -> usize {
        self.index.get(self.pids[p]).map_or(0, Vec::len)
    }
    fn has(&self, p: usize, c: usize) -> bool {
        self.children[self.cids[c]].parent == Some(self.pids[p])
    }
    fn get_sum(&self, p: usize) -> u64 {
        let list = self.index.get(self.pids[p]).map_or(&[][..], Vec::as_slice);
        list.iter().map(|&c| self.children[c].payload).sum()
    }
    fn set(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(pid).unwrap_or_default() {
            self.children[cid].parent = None;
        }
        for &c in cs {
            self.link(pid, self.cids[c]);
        }
    }
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(pid).unwrap_or_default() {
            self.children.remove(cid);
        }
        self.parents.remove(pid);
        let new = self.parents.insert(());
        self.pids[p] = new;
        for &c in cs {
            let cid = self.children.insert(SlotChild {
                parent: None,
                payload: c as u64,
            });
            self.link(new, cid);
            self.cids[c] = cid;
        }
    }
}
