//! The frame on bevy_ecs, with its built-in relationship: units are `ChildOf(squad)`, items
//! `ChildOf(unit)`. Changing squad inserts a new `ChildOf` (its hooks move the unit between the
//! squads' `Children`); a death is a despawn, which cascades to the items through `Children`;
//! a spawn is `spawn((unit, ChildOf(squad)))` with its items through `with_children`.

use bevy_ecs::prelude::{ChildOf, Children, Component, Entity, World};

use super::{Census, FramePlan, FrameSpec, FrameStore, ITEMS_PER_UNIT, InitialWorld};

/// A squad.
#[derive(Component)]
pub struct BevySquad;

/// A unit.
#[derive(Component)]
pub struct BevyUnit {
    /// Hit points.
    pub hp: u32,
}

/// An item.
#[derive(Component)]
pub struct BevyItem {
    /// Weight.
    pub weight: u32,
}

/// bevy_ecs 0.20.
pub struct BevyFrame {
    world: World,
    squads: Vec<Entity>,
    units: Vec<Entity>,
}

impl FrameStore for BevyFrame {
    const NAME: &'static str = "bevy";
    fn build(spec: &FrameSpec, init: &InitialWorld) -> Self {
        let mut world = World::new();
        let squads: Vec<Entity> = world
            .spawn_batch((0..spec.squads).map(|_| BevySquad))
            .collect();
        let units: Vec<Entity> = init
            .unit_squad
            .iter()
            .zip(&init.unit_hp)
            .enumerate()
            .map(|(u, (&s, &hp))| {
                world
                    .spawn((BevyUnit { hp }, ChildOf(squads[s as usize])))
                    .with_children(|items| {
                        for &weight in &init.item_weight[u * ITEMS_PER_UNIT..][..ITEMS_PER_UNIT] {
                            items.spawn(BevyItem { weight });
                        }
                    })
                    .id()
            })
            .collect();
        BevyFrame {
            world,
            squads,
            units,
        }
    }
    fn frame(&mut self, plan: &FramePlan) {
        for &(u, s) in &plan.moves {
            self.world
                .entity_mut(self.units[u as usize])
                .insert(ChildOf(self.squads[s as usize]));
        }
        for r in &plan.respawns {
            self.world.despawn(self.units[r.unit as usize]);
            let unit = self
                .world
                .spawn((
                    BevyUnit { hp: r.hp },
                    ChildOf(self.squads[r.squad as usize]),
                ))
                .with_children(|items| {
                    for &weight in &r.weights {
                        items.spawn(BevyItem { weight });
                    }
                })
                .id();
            self.units[r.unit as usize] = unit;
        }
    }
    fn census(&mut self) -> Census {
        let mut units = self.world.query::<&BevyUnit>();
        let mut items = self.world.query::<&BevyItem>();
        Census {
            units: units.iter(&self.world).count(),
            items: items.iter(&self.world).count(),
            squad_sizes: self
                .squads
                .iter()
                .map(|&s| self.world.get::<Children>(s).map_or(0, |c| c.len()))
                .collect(),
            hp_sum: units.iter(&self.world).map(|u| u64::from(u.hp)).sum(),
            weight_sum: items.iter(&self.world).map(|i| u64::from(i.weight)).sum(),
        }
    }
}
