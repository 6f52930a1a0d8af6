//! The expansion: `declare` (every table, then every index, then every association, in field
//! order, in one transaction), `new`, the `Schema` impl, and compile-time checks spanned at the
//! attribute they are about.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

use crate::parse::{Assoc, AssocKind, Errors, Handle, KeyIndex, KeyOf, Kind, Many, Schema};

/// The database inside the generated `declare`: hygienic (`mixed_site`), so that a schema field
/// named `db` does not shadow it.
fn db() -> Ident {
    Ident::new("db", Span::mixed_site())
}

/// A model type as written, without spaces, to find its table.
fn type_key(ty: &Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}

/// The schema's tables: model → field.
struct Tables<'a> {
    by_model: HashMap<String, &'a Ident>,
}

impl<'a> Tables<'a> {
    fn new(schema: &'a Schema, errors: &mut Errors) -> Self {
        let mut by_model = HashMap::new();
        for handle in &schema.handles {
            if let Kind::Table { model } = &handle.kind
                && let Some(first) = by_model.insert(type_key(model), &handle.field)
            {
                errors.at(
                    handle.field.span(),
                    format!(
                        "a database holds one table per model, and `{first}` is already the table of `{}`",
                        model.to_token_stream()
                    ),
                );
            }
        }
        Tables { by_model }
    }

    /// The table field of `model`, or an error pointing at `model`.
    fn of(&self, model: &Type, errors: &mut Errors) -> Option<&'a Ident> {
        let key = type_key(model);
        let found = self.by_model.get(&key).copied();
        if found.is_none() {
            let name = model.to_token_stream().to_string().replace(' ', "");
            // The same last path segment (`crate::User` and `User`): most likely the same type,
            // written two ways. Models are matched as written.
            let last = |k: &str| k.rsplit("::").next().unwrap_or(k).to_owned();
            let spelled = self
                .by_model
                .iter()
                .filter(|(other, _)| last(other) == last(&key))
                .min_by_key(|(other, _)| other.as_str());
            let message = match spelled {
                Some((other, field)) => format!(
                    "`{name}` has no table in this schema, but `{field}` is a table of `{other}`: \
                     if they are the same type, write it the same way everywhere in the schema \
                     (the derive matches models as they are written)"
                ),
                None => format!(
                    "`{name}` has no table in this schema; add a field `{}: Table<{name}>`",
                    plural(&name)
                ),
            };
            errors.at(model.span(), message);
        }
        found
    }
}

/// A field name for a model's table: `LoanItem` → `loan_items`.
fn plural(model: &str) -> String {
    let base = model.rsplit("::").next().unwrap_or(model);
    let base = base.split('<').next().unwrap_or(base);
    let mut snake = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    snake.push('s');
    snake
}

pub(crate) fn schema(schema: &Schema) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let tables = Tables::new(schema, &mut errors);
    let uniques: HashMap<String, &KeyIndex> = schema
        .handles
        .iter()
        .filter_map(|h| match &h.kind {
            Kind::Key(k) if k.unique => Some((h.field.to_string(), k)),
            _ => None,
        })
        .collect();
    // Associations whose default name (their target model's) another one shares: each is
    // named after its field instead, so that messages tell them apart.
    let mut by_target: HashMap<String, usize> = HashMap::new();
    for h in &schema.handles {
        if let Kind::Assoc(a) = &h.kind
            && !a.is_side()
            && a.has_many_name().is_none()
        {
            *by_target.entry(type_key(&a.target)).or_default() += 1;
        }
    }
    keys_declared_once(schema, &mut errors);
    let kinds: HashMap<String, &Kind> = schema
        .handles
        .iter()
        .map(|h| (h.field.to_string(), &h.kind))
        .collect();
    let (mut table_decls, mut index_decls, mut assoc_decls) = (Vec::new(), Vec::new(), Vec::new());
    let mut side_decls = Vec::new();
    for Handle { field, kind } in &schema.handles {
        match kind {
            Kind::Table { model } => {
                let db = db();
                table_decls.push(quote! {
                    let #field = #db.create_table::<#model>()?;
                });
            }
            Kind::Key(index) => {
                if let Some(table) = tables.of(&index.model, &mut errors) {
                    index_decls.push(key_index(field, table, index));
                }
            }
            Kind::Assoc(a) if a.is_side() => {
                if let Some(decl) = side(field, a, &kinds, &mut errors) {
                    side_decls.push(decl);
                }
            }
            Kind::Assoc(a) => {
                let shared = by_target.get(&type_key(&a.target)).is_some_and(|&n| n > 1);
                if let Some(decl) = assoc(field, a, shared, &tables, &uniques, &mut errors) {
                    assoc_decls.push(decl);
                }
            }
            Kind::Many(m) => {
                if let Some(decl) = many(field, m, &tables, &mut errors) {
                    assoc_decls.push(decl);
                }
            }
        }
    }
    errors.finish()?;
    let ident = &schema.ident;
    let db = db();
    let fields: Vec<&Ident> = schema.handles.iter().map(|h| &h.field).collect();
    let archive = schema.archive.then(|| {
        let models = schema.handles.iter().filter_map(|h| match &h.kind {
            Kind::Table { model } => Some(model),
            _ => None,
        });
        quote! {
            /// An [`Archive`](::relata::Archive) of every table of this schema, to save and
            /// load a database declared with it.
            pub fn archive() -> ::relata::Archive<impl ::relata::archive::Tables> {
                ::relata::Archive::new() #( .table::<#models>() )*
            }
        }
    });
    Ok(quote! {
        impl #ident {
            /// A fresh database with this schema declared on it, and the schema's handles.
            pub fn new() -> ::relata::Result<(::relata::Db, Self)> {
                let mut db = ::relata::Db::new();
                let schema = Self::declare(&mut db)?;
                ::core::result::Result::Ok((db, schema))
            }

            /// Declares this schema's tables, indexes and associations on `db`, in one
            /// transaction (on error nothing is declared), and returns their handles.
            pub fn declare(db: &mut ::relata::Db) -> ::relata::Result<Self> {
                db.transaction(|#db| {
                    #(#table_decls)*
                    #(#index_decls)*
                    #(#assoc_decls)*
                    #(#side_decls)*
                    ::core::result::Result::Ok(#ident { #(#fields),* })
                })
            }

            #archive
        }

        // A handle declared only for its constraints (a foreign key nobody navigates) is not
        // dead code: this reads every field, so that rustc does not warn about them.
        const _: () = {
            #[allow(dead_code)]
            fn read_every_handle(schema: &#ident) {
                let _ = (#(&schema.#fields,)*);
            }
        };

        impl ::relata::Schema for #ident {
            fn declare(db: &mut ::relata::Db) -> ::relata::Result<Self> {
                #ident::declare(db)
            }
        }
    })
}

fn name_of(name: &Option<LitStr>, field: &Ident) -> LitStr {
    name.clone()
        .unwrap_or_else(|| LitStr::new(&field.unraw().to_string(), field.span()))
}

fn key_index(field: &Ident, table: &Ident, index: &KeyIndex) -> TokenStream {
    let model = &index.model;
    let db = db();
    let (plain, by, filtered) = if index.unique {
        (quote!(unique), quote!(unique_by), quote!(unique_where))
    } else {
        (quote!(index), quote!(index_by), quote!(index_where))
    };
    match (&index.key, &index.filter) {
        (KeyOf::Field(key), None) => {
            quote_spanned! {key.span()=>
                let #field = #db.#plain(#table, ::relata::field!(#model, #key))?;
            }
        }
        (KeyOf::Field(key), Some(filter)) => {
            // Named after the schema field: a filtered index is not the plain index of its key.
            let name = name_of(&index.name, field);
            quote_spanned! {key.span()=>
                let #field = #db.#filtered(
                    #table,
                    #name,
                    #filter,
                    |row: &#model| ::core::clone::Clone::clone(&row.#key),
                )?;
            }
        }
        (KeyOf::By(by_fn), None) => {
            let name = name_of(&index.name, field);
            quote! { let #field = #db.#by(#table, #name, #by_fn)?; }
        }
        (KeyOf::By(by_fn), Some(filter)) => {
            let name = name_of(&index.name, field);
            quote! { let #field = #db.#filtered(#table, #name, #filter, #by_fn)?; }
        }
    }
}

/// The foreign key `target.key` holding keys of type `key_type` (`_`: inferred), built where
/// `key` is written so that rustc's errors about it (no such field, a key of the wrong type)
/// point at the attribute.
fn foreign_key(target: &Type, key: &Ident, key_type: TokenStream) -> TokenStream {
    quote_spanned! {key.span()=>
        <_ as ::relata::FkField<#key_type>>::__at_offset(
            ::core::stringify!(#key),
            ::core::mem::offset_of!(#target, #key),
            |row: &#target| &row.#key,
            |row: &mut #target| &mut row.#key,
        )
    }
}

/// A check that `target.key` is nullable, pointing at `at` (a `SetNull` or `Nullify`).
fn nullable(target: &Type, key: &Ident, at: &Ident) -> TokenStream {
    let check = if at == "Nullify" {
        quote_spanned!(at.span()=> nullify)
    } else {
        quote_spanned!(at.span()=> set_null)
    };
    quote_spanned! {at.span()=>
        ::relata::__private::#check(|row: &#target| &row.#key);
    }
}

/// The declaration of association `field`; `shared_name`: another association without a
/// `name` has the same target model, so this one, unless named, is named after its field.
fn assoc(
    field: &Ident,
    a: &Assoc,
    shared_name: bool,
    tables: &Tables<'_>,
    uniques: &HashMap<String, &KeyIndex>,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let source_table = tables.of(&a.source, errors);
    let target_table = tables.of(&a.target, errors)?;
    let (source, target, key) = (&a.source, &a.target, &a.key);
    let mut checks = Vec::new();
    let mut options = quote!(::relata::AssocOptions::new());
    if let Some(name) = a.has_many_name() {
        options.extend(quote!(.name(#name)));
    } else if shared_name {
        let name = LitStr::new(&field.unraw().to_string(), field.span());
        options.extend(quote!(.name(#name)));
    }
    if let Some(inverse) = a.belongs_to_name() {
        options.extend(quote!(.inverse(#inverse)));
    }
    for (value, setter, kind) in [
        (&a.on_delete, quote!(on_delete), quote!(OnDelete)),
        (&a.on_update, quote!(on_update), quote!(OnUpdate)),
        (&a.unlink, quote!(unlink), quote!(Unlink)),
    ] {
        if let Some(value) = value {
            options.extend(quote!(.#setter(::relata::#kind::#value)));
            if value == "SetNull" || value == "Nullify" {
                checks.push(nullable(target, key, value));
            }
        }
    }
    let key_type = match (&a.source_key, &a.key_type) {
        (_, Some(k)) => quote!(#k),
        (None, None) => quote!(::relata::Id<#source>),
        (Some(_), None) => quote!(_),
    };
    let fk = foreign_key(target, key, key_type);
    let declare = match &a.source_key {
        None => {
            if let Some(k) = &a.key_type {
                let is_id = matches!(k, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Id"));
                if !is_id {
                    errors.at(
                        k.span(),
                        format!(
                            "a key other than the source's id needs `source_key = <a Unique<{}, _> field>` in `#[{}]`",
                            source.to_token_stream(),
                            a.kind.attribute()
                        ),
                    );
                    return None;
                }
            }
            let source_table = source_table?;
            let method = match a.kind {
                AssocKind::HasOne => quote!(has_one_with),
                _ => quote!(has_many_with),
            };
            let db = db();
            quote_spanned! {a.span=> #db.#method(#source_table, #target_table, #fk, #options) }
        }
        Some(unique) => {
            match uniques.get(&unique.to_string()) {
                Some(index) if type_key(&index.model) == type_key(source) => {}
                Some(index) => {
                    errors.at(
                        unique.span(),
                        format!(
                            "`{unique}` is a unique index of `{}`, not of the source `{}`",
                            index.model.to_token_stream(),
                            source.to_token_stream()
                        ),
                    );
                    return None;
                }
                None => {
                    errors.at(
                        unique.span(),
                        format!(
                            "`source_key` names a `Unique<{}, _>` field of this schema, and `{unique}` is not one",
                            source.to_token_stream()
                        ),
                    );
                    return None;
                }
            }
            let method = match a.kind {
                AssocKind::HasOne => quote!(has_one_by),
                _ => quote!(has_many_by),
            };
            let db = db();
            quote_spanned! {a.span=> #db.#method(#unique, #target_table, #fk, #options) }
        }
    };
    let inverse = (a.kind == AssocKind::BelongsTo).then(|| quote!(.inverse()));
    Some(quote! {
        #(#checks)*
        let #field = #declare? #inverse;
    })
}

fn many(field: &Ident, m: &Many, tables: &Tables<'_>, errors: &mut Errors) -> Option<TokenStream> {
    let source = tables.of(&m.source, errors);
    let target = tables.of(&m.target, errors);
    let junction = tables.of(&m.junction, errors);
    let (source, target, junction) = (source?, target?, junction?);
    let (s, t) = (&m.source, &m.target);
    let to_source = foreign_key(&m.junction, &m.key, quote!(::relata::Id<#s>));
    let to_target = foreign_key(&m.junction, &m.other_key, quote!(::relata::Id<#t>));
    let j = &m.junction;
    let checks = [&m.key, &m.other_key].map(|key| {
        quote_spanned! {key.span()=>
            ::relata::__private::junction_key(|row: &#j| &row.#key);
        }
    });
    let db = db();
    Some(quote! {
        #(#checks)*
        let #field = #db.belongs_to_many(#source, #target, #junction, #to_source, #to_target)?;
    })
}

impl Assoc {
    /// Whether this handle is a side of an association declared on another field.
    fn is_side(&self) -> bool {
        self.inverse_of.is_some() || self.junction_of.is_some()
    }

    /// The name of the has-many (or has-one) side. On `#[belongs_to]`, `name` names the
    /// belongs-to (Sequelize's `as`) and `inverse` the has-many (`inverse: { as }`).
    fn has_many_name(&self) -> &Option<LitStr> {
        match self.kind {
            AssocKind::BelongsTo => &self.inverse,
            _ => &self.name,
        }
    }

    /// The name of the belongs-to side.
    fn belongs_to_name(&self) -> &Option<LitStr> {
        match self.kind {
            AssocKind::BelongsTo => &self.name,
            _ => &self.inverse,
        }
    }
}

/// Each foreign key carries one association: a second attribute naming the same key (the
/// other side declared again, as Sequelize declares `hasMany` and `belongsTo`) is an error
/// that says how to write that side.
fn keys_declared_once(schema: &Schema, errors: &mut Errors) {
    let mut first: HashMap<(String, String), (&Ident, &Kind)> = HashMap::new();
    for Handle { field, kind } in &schema.handles {
        let keys: Vec<(&Type, &Ident)> = match kind {
            Kind::Assoc(a) if !a.is_side() => vec![(&a.target, &a.key)],
            Kind::Many(m) => vec![(&m.junction, &m.key), (&m.junction, &m.other_key)],
            _ => continue,
        };
        for (model, key) in keys {
            let at = (type_key(model), key.to_string());
            match first.get(&at) {
                None => {
                    first.insert(at, (field, kind));
                }
                Some(&(other, first_kind)) => {
                    let how = match (kind, first_kind) {
                        (Kind::Assoc(a), Kind::Many(_)) => format!(
                            "declare this side as `#[{}(junction_of = {other})]`",
                            a.kind.attribute()
                        ),
                        // A has-one declares its key itself: the belongs-to is its side.
                        (Kind::Assoc(a), Kind::Assoc(o))
                            if a.kind == AssocKind::HasOne && o.kind == AssocKind::BelongsTo =>
                        {
                            format!(
                                "keep the key here and declare `{other}` as \
                                 `#[belongs_to(inverse_of = {field})]`"
                            )
                        }
                        (Kind::Assoc(a), _) => format!(
                            "declare this side as `#[{}(inverse_of = {other})]`",
                            a.kind.attribute()
                        ),
                        (_, Kind::Assoc(o)) => format!(
                            "keep the key here and declare `{other}` as \
                             `#[{}(junction_of = {field})]`",
                            o.kind.attribute()
                        ),
                        _ => "a many-to-many needs a junction key of its own".to_string(),
                    };
                    errors.at(
                        key.span(),
                        format!(
                            "`{}.{}` is already the foreign key of `{other}`, and a key \
                             carries one association; {how}",
                            model.to_token_stream().to_string().replace(' ', ""),
                            key.unraw()
                        ),
                    );
                }
            }
        }
    }
}

/// The handle of `field`, a side of the association declared on another field
/// (`inverse_of`, `junction_of`): that field's handle, seen from this side.
fn side(
    field: &Ident,
    a: &Assoc,
    kinds: &HashMap<String, &Kind>,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let (other, junction) = match (&a.inverse_of, &a.junction_of) {
        (Some(other), _) => (other, false),
        (None, Some(other)) => (other, true),
        (None, None) => return None,
    };
    let attribute = a.kind.attribute();
    let Some(kind) = kinds.get(&other.to_string()) else {
        errors.at(
            other.span(),
            format!("`{other}` is not a field of this schema"),
        );
        return None;
    };
    let path = match (junction, kind, a.kind) {
        (false, Kind::Assoc(o), AssocKind::BelongsTo)
            if !o.is_side() && o.kind != AssocKind::BelongsTo =>
        {
            quote_spanned!(other.span()=> #other.inverse())
        }
        (false, Kind::Assoc(o), AssocKind::HasMany)
            if !o.is_side() && o.kind == AssocKind::BelongsTo =>
        {
            quote_spanned!(other.span()=> #other.inverse())
        }
        (true, Kind::Many(m), AssocKind::HasMany | AssocKind::BelongsTo)
            if type_key(&a.target) == type_key(&m.junction) =>
        {
            let own = type_key(&m.source) == type_key(&m.target);
            let from = if let Some(key) = &a.side_key {
                if key == &m.key {
                    quote!(#other)
                } else if key == &m.other_key {
                    quote!(#other.inverse())
                } else {
                    errors.at(
                        key.span(),
                        format!(
                            "`{}` is not a junction key of `{other}`: its keys are `{}` and `{}`",
                            key.unraw(),
                            m.key.unraw(),
                            m.other_key.unraw()
                        ),
                    );
                    return None;
                }
            } else if own {
                errors.at(
                    other.span(),
                    format!(
                        "`{other}` links `{}` with itself, so say which junction key this side \
                         follows: `junction_of = {other}, key = {}` or `key = {}`",
                        m.source.to_token_stream(),
                        m.key.unraw(),
                        m.other_key.unraw()
                    ),
                );
                return None;
            } else if type_key(&a.source) == type_key(&m.source) {
                quote!(#other)
            } else if type_key(&a.source) == type_key(&m.target) {
                quote!(#other.inverse())
            } else {
                errors.at(
                    other.span(),
                    format!(
                        "`{other}` links `{}` and `{}`, not `{}`",
                        m.source.to_token_stream(),
                        m.target.to_token_stream(),
                        a.source.to_token_stream()
                    ),
                );
                return None;
            };
            let inverse = (a.kind == AssocKind::BelongsTo).then(|| quote!(.inverse()));
            quote_spanned!(other.span()=> #from.junction_rows() #inverse)
        }
        (true, Kind::Many(m), _) => {
            errors.at(
                other.span(),
                format!(
                    "`junction_of = {other}` is for a `HasMany<_, {j}>` or a `BelongsTo<{j}, _>` \
                     of its junction `{j}`",
                    j = m.junction.to_token_stream()
                ),
            );
            return None;
        }
        (true, _, _) => {
            errors.at(
                other.span(),
                format!("`junction_of` names a `BelongsToMany` field, and `{other}` is not one"),
            );
            return None;
        }
        (false, Kind::Assoc(o), _) if o.is_side() => {
            errors.at(
                other.span(),
                format!("`{other}` is itself a side of another field: name the field that declares the association"),
            );
            return None;
        }
        (false, _, AssocKind::HasOne) => {
            errors.at(
                other.span(),
                "a has-one is declared by its own `#[has_one(key = ..)]`; make the belongs-to \
                 side `#[belongs_to(inverse_of = <this field>)]`",
            );
            return None;
        }
        (false, _, _) => {
            let wanted = if a.kind == AssocKind::BelongsTo {
                "a `HasMany` or `HasOne` field"
            } else {
                "a `BelongsTo` field"
            };
            errors.at(
                other.span(),
                format!(
                    "`#[{attribute}(inverse_of = ..)]` names {wanted}, and `{other}` is not one"
                ),
            );
            return None;
        }
    };
    Some(quote! { let #field = #path; })
}
