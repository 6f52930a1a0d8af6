//! The derive macro of [relata](https://docs.rs/relata): `#[derive(Schema)]` declares a whole
//! schema — tables, indexes, associations — from one struct of handles.
//!
//! Use it through `relata` (feature `derive`, on by default): `use relata::Schema;`. The
//! attributes, the compile-time checks and the expansion are documented on the `relata::Schema`
//! trait.

mod expand;
mod parse;

use proc_macro::TokenStream;

/// Declares a relata schema from a struct of handles: `Table<T>` fields, and `Unique`, `Index`,
/// `HasMany`, `HasOne`, `BelongsTo`, `BelongsToMany` fields with their `#[unique(..)]`,
/// `#[index(..)]`, `#[has_many(..)]`, `#[has_one(..)]`, `#[belongs_to(..)]` and
/// `#[belongs_to_many(..)]` attributes; `#[schema(archive)]` on the struct also generates
/// `archive()`. Generates `new()`, `declare(&mut Db)` and an `impl relata::Schema`. See the
/// `relata::Schema` trait for the full reference and an expansion.
#[proc_macro_derive(
    Schema,
    attributes(schema, unique, index, has_many, has_one, belongs_to, belongs_to_many)
)]
pub fn derive_schema(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    parse::schema(input)
        .and_then(|schema| expand::schema(&schema))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
