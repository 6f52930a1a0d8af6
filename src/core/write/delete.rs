//! Deletes: a plan of everything the on-delete actions reach, then its application. See the
//! parent module's docs.

use triomphe::Arc;

use super::{Write, internal};
use crate::Model;
use crate::core::AssocAt;
use crate::core::cascade::{self, Deletion, Plan};
use crate::error::Result;
use crate::id::RawId;
use crate::key::Key;

impl Write<'_> {
    /// Plans the delete of `roots` and of everything their on-delete actions reach. Reads only.
    pub(crate) fn plan_delete(&self, roots: &[(usize, RawId)]) -> Result<Plan> {
        cascade::plan(self.core, roots)
    }

    /// Applies a plan made by [`plan_delete`](Write::plan_delete) on this, unchanged, state:
    /// nulls first, then deletes in plan order, each through this path.
    pub(crate) fn apply_delete(&mut self, plan: Plan) -> Result<Deletion> {
        for &(a, child) in plan.nulls() {
            let (ops, at) = self.assoc_ops(a);
            ops.relink(self, at, child, None)?;
        }
        self.spill();
        // Buckets the plan empties: each in one step, not one removal per row.
        for &(a, source) in plan.drops() {
            let (ops, at) = self.assoc_ops(a);
            ops.drop_children(self, at, source)?;
        }
        for &(t, id) in plan.deletes() {
            self.touch(t);
            let tables = Arc::make_mut(&mut self.core.tables);
            let removed = tables.get_mut(t).is_some_and(|table| table.remove(id));
            if !removed {
                return Err(internal(t));
            }
        }
        Ok(plan.into_deletion(self.core))
    }

    /// Empties the bucket of source row `source` in association `a`'s index at once: for a
    /// plan that deletes the source and every row in the bucket, before it deletes them.
    pub(crate) fn drop_children<S: Model, T: Model, K: Key>(
        &mut self,
        a: AssocAt,
        source: RawId,
    ) -> Result<()> {
        let def = self.assoc::<T>(a)?;
        let (t, pos) = (def.target, def.index);
        if self.data_mut::<T>(t)?.drop_bucket::<S, K>(pos, source) {
            Ok(())
        } else {
            Err(internal(t))
        }
    }

    /// Deletes `roots` with their on-delete actions: [`plan_delete`](Write::plan_delete), then
    /// [`apply_delete`](Write::apply_delete).
    pub(crate) fn delete(&mut self, roots: &[(usize, RawId)]) -> Result<Deletion> {
        let plan = self.plan_delete(roots)?;
        self.apply_delete(plan)
    }
}
