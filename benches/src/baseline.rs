//! The naive hand-written baseline behind the [`Store`] trait.

use std::collections::HashMap;

use crate::Store;

struct BaseChild {
    parent: Option<u32>,
    payload: u64,
}

/// The naive hand-written design: `Vec` rows, `HashMap<u32, Vec<u32>>` from parent to children.
/// No validation beyond what the workload needs, no order maintenance beyond push order.
pub struct Baseline {
    parents: Vec<bool>,
    children: Vec<Option<BaseChild>>,
    index: HashMap<u32, Vec<u32>>,
    pids: Vec<u32>,
    cids: Vec<u32>,
}

impl Baseline {
    fn unlink(&mut self, cid: u32) {
        let child = self.children[cid as usize].as_mut().unwrap();
        if let Some(old) = child.parent.take() {
            let list = self.index.get_mut(&old).unwrap();
            let pos = list.iter().position(|&x| x == cid).unwrap();
            list.remove(pos);
        }
    }

    fn push_child(&mut self, parent: Option<u32>, payload: u64) -> u32 {
        let cid = self.children.len() as u32;
        self.children.push(Some(BaseChild { parent, payload }));
        if let Some(p) = parent {
            self.index.entry(p).or_default().push(cid);
        }
        cid
    }
}

impl Store for Baseline {
    const NAME: &'static str = "baseline";

    fn new() -> Self {
        Baseline {
            parents: Vec::new(),
            children: Vec::new(),
            index: HashMap::new(),
            pids: Vec::new(),
            cids: Vec::new(),
        }
    }
    fn insert_parent(&mut self) {
        self.pids.push(self.parents.len() as u32);
        self.parents.push(true);
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let cid = self.push_child(parent.map(|p| self.pids[p]), payload);
        self.cids.push(cid);
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.unlink(self.cids[c]);
        self.children[self.cids[c] as usize] = None;
        self.cids[c] = self.push_child(parent.map(|p| self.pids[p]), payload);
    }
    fn add(&mut self, p: usize, c: usize) {
        let (pid, cid) = (self.pids[p], self.cids[c]);
        if self.children[cid as usize].as_ref().unwrap().parent != Some(pid) {
            self.unlink(cid);
            self.children[cid as usize].as_mut().unwrap().parent = Some(pid);
            self.index.entry(pid).or_default().push(cid);
        }
    }
    fn remove(&mut self, p: usize, c: usize) {
        let cid = self.cids[c];
        if self.children[cid as usize].as_ref().unwrap().parent == Some(self.pids[p]) {
            self.unlink(cid);
        }
    }
    fn count(&self, p: usize) -> usize {
        self.index.get(&self.pids[p]).map_or(0, Vec::len)
    }
    fn has(&self, p: usize, c: usize) -> bool {
        self.children[self.cids[c] as usize]
            .as_ref()
            .unwrap()
            .parent
            == Some(self.pids[p])
    }
    fn get_sum(&self, p: usize) -> u64 {
        let list = self.index.get(&self.pids[p]).map_or(&[][..], Vec::as_slice);
        list.iter()
            .map(|&c| self.children[c as usize].as_ref().unwrap().payload)
            .sum()
    }
    fn set(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(&pid).unwrap_or_default() {
            self.children[cid as usize].as_mut().unwrap().parent = None;
        }
        for &c in cs {
            self.add(p, c);
        }
    }
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(&pid).unwrap_or_default() {
            self.children[cid as usize] = None;
        }
        self.parents[pid as usize] = false;
        self.insert_parent();
        let new = self.pids.pop().unwrap();
        self.pids[p] = new;
        for &c in cs {
            self.cids[c] = self.push_child(Some(new), c as u64);
        }
    }
}
