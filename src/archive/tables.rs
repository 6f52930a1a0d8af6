//! The row types an [`Archive`](super::Archive) knows, as a list of types built by
//! [`Archive::table`](super::Archive::table): every table is written and read by code
//! monomorphised for its row type and the format, with no dynamic dispatch per field.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, SeqAccess};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize};

use super::WrittenTable;
use super::load::{ReadTable, ReadTableV1};
use crate::id::model_name;
use crate::{Db, Model};

mod sealed {
    pub trait Sealed {}
}

/// The list of row types of an [`Archive`](super::Archive): `()` for none, [`With`] to add
/// one. Implemented by relata only; you name it only as `Archive<impl Tables>`.
pub trait Tables: sealed::Sealed + Clone + Send + Sync + 'static {
    #[doc(hidden)]
    /// The model name of the row type `type_id`, if the list holds it.
    fn __model(&self, type_id: TypeId) -> Option<&'static str>;
    #[doc(hidden)]
    /// Every model name in the list.
    fn __models(&self, out: &mut Vec<&'static str>);
    #[doc(hidden)]
    /// Writes table `index` of `db`, whose row type is `type_id`, as one element of `out`.
    /// `None` if the list does not hold the type.
    fn __save<S: SerializeSeq>(
        &self,
        db: &Db,
        index: usize,
        type_id: TypeId,
        out: &mut S,
    ) -> Option<Result<(), S::Error>>;
    #[doc(hidden)]
    /// Reads the next element of `seq` as a table of row type `type_id`, as archive format
    /// `version` lays it out (`None`: named fields, any version): its model name and a boxed
    /// `Saved<T>`. `None` if the list does not hold the type.
    #[allow(clippy::type_complexity)]
    fn __load<'de, A: SeqAccess<'de>>(
        &self,
        type_id: TypeId,
        version: Option<u32>,
        seq: &mut A,
    ) -> Option<Result<Option<(String, Box<dyn Any>)>, A::Error>>;
}

impl sealed::Sealed for () {}

impl Tables for () {
    fn __model(&self, _: TypeId) -> Option<&'static str> {
        None
    }
    fn __models(&self, _: &mut Vec<&'static str>) {}
    fn __save<S: SerializeSeq>(
        &self,
        _: &Db,
        _: usize,
        _: TypeId,
        _: &mut S,
    ) -> Option<Result<(), S::Error>> {
        None
    }
    fn __load<'de, A: SeqAccess<'de>>(
        &self,
        _: TypeId,
        _: Option<u32>,
        _: &mut A,
    ) -> Option<Result<Option<(String, Box<dyn Any>)>, A::Error>> {
        None
    }
}

/// The row type `T`, then the types of `L`: what [`Archive::table`](super::Archive::table)
/// adds to an archive's [`Tables`]. To keep an archive in a struct field, name its type:
/// `Archive::new().table::<Team>().table::<Unit>()` is an `Archive<With<Unit, With<Team>>>`.
pub struct With<T, L = ()>(PhantomData<fn() -> T>, L);

impl<T, L> With<T, L> {
    pub(super) fn new(rest: L) -> Self {
        With(PhantomData, rest)
    }
}

impl<T, L: Clone> Clone for With<T, L> {
    fn clone(&self) -> Self {
        With(PhantomData, self.1.clone())
    }
}

impl<T, L> sealed::Sealed for With<T, L> {}

impl<T, L> Tables for With<T, L>
where
    T: Model + Serialize + for<'de> Deserialize<'de>,
    L: Tables,
{
    fn __model(&self, type_id: TypeId) -> Option<&'static str> {
        if type_id == TypeId::of::<T>() {
            Some(model_name::<T>())
        } else {
            self.1.__model(type_id)
        }
    }

    fn __models(&self, out: &mut Vec<&'static str>) {
        out.push(model_name::<T>());
        self.1.__models(out);
    }

    fn __save<S: SerializeSeq>(
        &self,
        db: &Db,
        index: usize,
        type_id: TypeId,
        out: &mut S,
    ) -> Option<Result<(), S::Error>> {
        if type_id != TypeId::of::<T>() {
            return self.1.__save(db, index, type_id, out);
        }
        let data = db.core.data::<T>(index)?;
        Some(out.serialize_element(&WrittenTable { data }))
    }

    fn __load<'de, A: SeqAccess<'de>>(
        &self,
        type_id: TypeId,
        version: Option<u32>,
        seq: &mut A,
    ) -> Option<Result<Option<(String, Box<dyn Any>)>, A::Error>> {
        if type_id != TypeId::of::<T>() {
            return self.1.__load(type_id, version, seq);
        }
        Some(seq.next_element_seed(TableSeed::<T>(version, PhantomData)))
    }
}

/// Reads one table of `T` rows, as the archive's format version wrote it (`None`: named fields,
/// any version).
struct TableSeed<T>(Option<u32>, PhantomData<fn() -> T>);

impl<'de, T: Model + Deserialize<'de>> DeserializeSeed<'de> for TableSeed<T> {
    type Value = (String, Box<dyn Any>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let table = match self.0 {
            Some(1) => ReadTableV1::<T>::deserialize(deserializer)?.into(),
            _ => ReadTable::<T>::deserialize(deserializer)?,
        };
        Ok(table.into_saved())
    }
}
