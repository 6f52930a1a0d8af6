//! The frame, hand-written: `Vec`s of rows with free lists, a child `Vec` per squad and per unit,
//! each unit knowing its position in its squad's `Vec` (so leaving a squad is a `swap_remove`).
//! No validation, no ids with generations: the fastest obvious code.

use super::{Census, FramePlan, FrameSpec, FrameStore, ITEMS_PER_UNIT, InitialWorld};

struct Unit {
    alive: bool,
    squad: u32,
    /// Position in `squads[squad]`.
    at: u32,
    hp: u32,
    items: Vec<u32>,
}

struct Item {
    alive: bool,
    #[allow(dead_code)] // kept as a real row would keep it
    owner: u32,
    weight: u32,
}

/// The hand-written baseline.
pub struct BaselineFrame {
    squads: Vec<Vec<u32>>,
    units: Vec<Unit>,
    items: Vec<Item>,
    free_units: Vec<u32>,
    free_items: Vec<u32>,
    /// Unit index to slot.
    slots: Vec<u32>,
}

impl BaselineFrame {
    fn join(&mut self, unit: u32, squad: u32) {
        let members = &mut self.squads[squad as usize];
        let u = &mut self.units[unit as usize];
        u.squad = squad;
        u.at = members.len() as u32;
        members.push(unit);
    }

    fn leave(&mut self, unit: u32) {
        let u = &self.units[unit as usize];
        let members = &mut self.squads[u.squad as usize];
        let at = u.at as usize;
        members.swap_remove(at);
        if let Some(&moved) = members.get(at) {
            self.units[moved as usize].at = at as u32;
        }
    }

    fn spawn_unit(&mut self, squad: u32, hp: u32) -> u32 {
        let unit = match self.free_units.pop() {
            Some(slot) => {
                let u = &mut self.units[slot as usize];
                u.alive = true;
                u.hp = hp;
                slot
            }
            None => {
                self.units.push(Unit {
                    alive: true,
                    squad,
                    at: 0,
                    hp,
                    items: Vec::with_capacity(ITEMS_PER_UNIT),
                });
                (self.units.len() - 1) as u32
            }
        };
        self.join(unit, squad);
        unit
    }

    fn spawn_item(&mut self, owner: u32, weight: u32) {
        let row = Item {
            alive: true,
            owner,
            weight,
        };
        let item = match self.free_items.pop() {
            Some(slot) => {
                self.items[slot as usize] = row;
                slot
            }
            None => {
                self.items.push(row);
                (self.items.len() - 1) as u32
            }
        };
        self.units[owner as usize].items.push(item);
    }

    fn kill(&mut self, unit: u32) {
        self.leave(unit);
        let u = &mut self.units[unit as usize];
        u.alive = false;
        for &item in &u.items {
            self.items[item as usize].alive = false;
            self.free_items.push(item);
        }
        u.items.clear();
        self.free_units.push(unit);
    }
}

impl FrameStore for BaselineFrame {
    const NAME: &'static str = "baseline";
    fn build(spec: &FrameSpec, init: &InitialWorld) -> Self {
        let mut store = BaselineFrame {
            squads: vec![Vec::new(); spec.squads],
            units: Vec::with_capacity(spec.units),
            items: Vec::with_capacity(spec.units * ITEMS_PER_UNIT),
            free_units: Vec::new(),
            free_items: Vec::new(),
            slots: Vec::with_capacity(spec.units),
        };
        for (u, (&squad, &hp)) in init.unit_squad.iter().zip(&init.unit_hp).enumerate() {
            let unit = store.spawn_unit(squad, hp);
            for &weight in &init.item_weight[u * ITEMS_PER_UNIT..][..ITEMS_PER_UNIT] {
                store.spawn_item(unit, weight);
            }
            store.slots.push(unit);
        }
        store
    }
    fn frame(&mut self, plan: &FramePlan) {
        for &(u, s) in &plan.moves {
            let unit = self.slots[u as usize];
            if self.units[unit as usize].squad != s {
                self.leave(unit);
                self.join(unit, s);
            }
        }
        for r in &plan.respawns {
            self.kill(self.slots[r.unit as usize]);
            let unit = self.spawn_unit(r.squad, r.hp);
            for &weight in &r.weights {
                self.spawn_item(unit, weight);
            }
            self.slots[r.unit as usize] = unit;
        }
    }
    fn census(&mut self) -> Census {
        let live_units = self.units.iter().filter(|u| u.alive);
        let live_items = self.items.iter().filter(|i| i.alive);
        Census {
            units: live_units.clone().count(),
            items: live_items.clone().count(),
            squad_sizes: self.squads.iter().map(Vec::len).collect(),
            hp_sum: live_units.map(|u| u64::from(u.hp)).sum(),
            weight_sum: live_items.map(|i| u64::from(i.weight)).sum(),
        }
    }
}
