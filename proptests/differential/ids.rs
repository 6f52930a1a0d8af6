//! The ids relata issued, by table and creation index, for schemas whose tables are told apart
//! by their row types.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use relata::{Db, Id, Model, Table};

/// One table's ids, by creation index; and the way back.
struct List<T> {
    ids: Vec<Id<T>>,
    index: HashMap<Id<T>, usize>,
}

/// Ids issued per row type, by creation index.
#[derive(Default)]
pub struct Issued {
    lists: HashMap<TypeId, Box<dyn Any>>,
}

impl Issued {
    fn list<T: 'static>(&self) -> Option<&List<T>> {
        self.lists.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Records a new id; returns its creation index.
    pub fn record<T: 'static>(&mut self, id: Id<T>) -> usize {
        let list: &mut List<T> = self
            .lists
            .entry(TypeId::of::<T>())
            .or_insert_with(|| {
                Box::new(List::<T> {
                    ids: Vec::new(),
                    index: HashMap::new(),
                })
            })
            .downcast_mut()
            .unwrap();
        list.ids.push(id);
        list.index.insert(id, list.ids.len() - 1);
        list.ids.len() - 1
    }

    /// The id of creation index `i`, which must have been issued.
    pub fn id<T: 'static>(&self, i: usize) -> Id<T> {
        self.list::<T>().expect("an issued id").ids[i]
    }

    /// The creation index of `id`, which must have been recorded.
    pub fn of<T: 'static>(&self, id: Id<T>) -> usize {
        self.list::<T>().expect("a recorded id").index[&id]
    }

    /// The creation indexes of `table`'s live rows, in creation order.
    pub fn live<T: Model>(&self, db: &Db, table: Table<T>) -> Vec<usize> {
        table.iter(db).unwrap().map(|r| self.of(r.id())).collect()
    }
}
