//! Reading a schema struct: which handle each field is (from its type) and how it is declared
//! (from its attribute).

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitStr, PathArguments, Type,
};

/// A whole schema struct.
pub(crate) struct Schema {
    pub(crate) ident: Ident,
    /// `#[schema(archive)]`: also generate `archive()`.
    pub(crate) archive: bool,
    pub(crate) handles: Vec<Handle>,
}

/// One field: a handle, and how to declare it.
pub(crate) struct Handle {
    pub(crate) field: Ident,
    pub(crate) kind: Kind,
}

// `allow`, not `expect`: the variants' sizes follow syn's features, which the workspace build
// (serde_derive, bevy) widens, so the lint fires in one build and not in another.
#[allow(
    clippy::large_enum_variant,
    reason = "one per schema field, parsed once at compile time: boxing would buy nothing"
)]
pub(crate) enum Kind {
    /// `Table<T>`.
    Table { model: Type },
    /// `Unique<T, K>` with `#[unique(..)]`, `Index<T, K>` with `#[index(..)]`.
    Key(KeyIndex),
    /// `HasMany`, `HasOne`, `BelongsTo` with their attribute.
    Assoc(Assoc),
    /// `BelongsToMany<S, T, J>` with `#[belongs_to_many(..)]`.
    Many(Many),
}

pub(crate) struct KeyIndex {
    pub(crate) unique: bool,
    pub(crate) model: Type,
    pub(crate) key: KeyOf,
    pub(crate) filter: Option<Expr>,
    pub(crate) name: Option<LitStr>,
}

/// What an index is keyed by.
pub(crate) enum KeyOf {
    /// A field of the row: `#[index(city)]`.
    Field(Ident),
    /// A function of the row: `#[index(by = |b: &Book| (b.author.clone(), b.year))]`.
    By(Box<Expr>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssocKind {
    HasMany,
    HasOne,
    BelongsTo,
}

impl AssocKind {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            AssocKind::HasMany => "has_many",
            AssocKind::HasOne => "has_one",
            AssocKind::BelongsTo => "belongs_to",
        }
    }
}

pub(crate) struct Assoc {
    pub(crate) kind: AssocKind,
    /// The model whose rows are referenced.
    pub(crate) source: Type,
    /// The model holding the foreign key.
    pub(crate) target: Type,
    /// The key type, when the handle names one (`HasMany<S, T, K>`).
    pub(crate) key_type: Option<Type>,
    /// The foreign-key field of the target (a placeholder for a declared inverse).
    pub(crate) key: Ident,
    /// `inverse_of = <field>`: this handle is the other side of that association, not a new
    /// declaration.
    pub(crate) inverse_of: Option<Ident>,
    /// `junction_of = <field>`: this handle is a side of that many-to-many's junction.
    pub(crate) junction_of: Option<Ident>,
    /// With `junction_of`: the junction key this side follows (`key = ..`), which a
    /// many-to-many of a model with itself needs.
    pub(crate) side_key: Option<Ident>,
    /// The schema field of a `Unique<S, K>` the key holds, instead of the source's id.
    pub(crate) source_key: Option<Ident>,
    pub(crate) name: Option<LitStr>,
    pub(crate) inverse: Option<LitStr>,
    pub(crate) on_delete: Option<Ident>,
    pub(crate) on_update: Option<Ident>,
    pub(crate) unlink: Option<Ident>,
    /// The attribute, for errors about it as a whole.
    pub(crate) span: Span,
}

pub(crate) struct Many {
    pub(crate) source: Type,
    pub(crate) target: Type,
    pub(crate) junction: Type,
    /// The junction's key to the source.
    pub(crate) key: Ident,
    /// The junction's key to the target.
    pub(crate) other_key: Ident,
}

const ATTRIBUTES: &[&str] = &[
    "unique",
    "index",
    "has_many",
    "has_one",
    "belongs_to",
    "belongs_to_many",
];

/// Collects errors, so that one expansion reports every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The handle type's name and generic arguments: `HasMany<Post, Comment>` →
/// `("HasMany", [Post, Comment])`.
fn handle_type(ty: &Type) -> Option<(String, Vec<Type>)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let args = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((last.ident.to_string(), args))
}

pub(crate) fn schema(input: DeriveInput) -> syn::Result<Schema> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.at(
            input.generics.span(),
            "a relata schema cannot be generic: its fields are the handles of concrete tables",
        );
    }
    let mut archive = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("schema")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("archive") {
                archive = true;
                Ok(())
            } else {
                Err(meta.error("unknown schema option; the only one is `archive`"))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    let fields = match input.data {
        Data::Struct(data) => match data.fields {
            Fields::Named(fields) => fields.named,
            other => {
                errors.at(
                    other.span(),
                    "a relata schema is a struct with named fields",
                );
                return Err(errors.finish().unwrap_err());
            }
        },
        _ => {
            errors.at(
                input.ident.span(),
                "a relata schema is a struct whose fields are handles (`Table<T>`, `HasMany<S, T>`, ...)",
            );
            return Err(errors.finish().unwrap_err());
        }
    };
    let mut handles = Vec::new();
    for field in fields {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        match handle(&ident, &field.ty, &field.attrs) {
            Ok(kind) => handles.push(Handle { field: ident, kind }),
            Err(e) => errors.push(e),
        }
    }
    errors.finish()?;
    Ok(Schema {
        ident: input.ident,
        archive,
        handles,
    })
}

/// The one relata attribute of a field, if any; a second one is an error.
fn relata_attribute(attrs: &[Attribute]) -> syn::Result<Option<(&Attribute, String)>> {
    let mut found: Option<(&Attribute, String)> = None;
    for attr in attrs {
        let Some(name) = attr.path().get_ident().map(Ident::to_string) else {
            continue;
        };
        if !ATTRIBUTES.contains(&name.as_str()) {
            continue;
        }
        if let Some((first, _)) = &found {
            let mut e = syn::Error::new(attr.span(), "a schema field takes one relata attribute");
            e.combine(syn::Error::new(first.span(), "the first one is here"));
            return Err(e);
        }
        found = Some((attr, name));
    }
    Ok(found)
}

fn handle(field: &Ident, ty: &Type, attrs: &[Attribute]) -> syn::Result<Kind> {
    let Some((name, args)) = handle_type(ty) else {
        return Err(not_a_handle(ty));
    };
    let attr = relata_attribute(attrs)?;
    let expect = |wanted: &str| -> syn::Result<&Attribute> {
        match &attr {
            Some((a, n)) if n == wanted => Ok(a),
            Some((a, n)) => Err(syn::Error::new(
                a.span(),
                format!(
                    "`#[{n}]` does not declare a `{name}`; a `{name}` field takes `#[{wanted}(..)]`"
                ),
            )),
            None => Err(syn::Error::new(
                field.span(),
                format!(
                    "the `{name}` field `{field}` needs a `#[{wanted}(..)]` attribute saying how to declare it"
                ),
            )),
        }
    };
    let arity = |n: std::ops::RangeInclusive<usize>, shape: &str| -> syn::Result<()> {
        if n.contains(&args.len()) {
            Ok(())
        } else {
            Err(syn::Error::new(ty.span(), format!("expected `{shape}`")))
        }
    };
    match name.as_str() {
        "Table" => {
            arity(1..=1, "Table<Model>")?;
            if let Some((a, n)) = &attr {
                return Err(syn::Error::new(
                    a.span(),
                    format!(
                        "a `Table` field takes no `#[{n}]`: declare the {n} on a field of its own"
                    ),
                ));
            }
            Ok(Kind::Table {
                model: args[0].clone(),
            })
        }
        "Unique" | "Index" => {
            arity(2..=2, &format!("{name}<Model, Key>"))?;
            let unique = name == "Unique";
            let attr = expect(if unique { "unique" } else { "index" })?;
            key_index(attr, unique, args[0].clone())
        }
        "HasMany" | "HasOne" | "BelongsTo" => {
            let (kind, shape) = match name.as_str() {
                "HasMany" => (
                    AssocKind::HasMany,
                    "HasMany<Source, Target> or HasMany<Source, Target, Key>",
                ),
                "HasOne" => (
                    AssocKind::HasOne,
                    "HasOne<Source, Target> or HasOne<Source, Target, Key>",
                ),
                _ => (
                    AssocKind::BelongsTo,
                    "BelongsTo<Target, Source> or BelongsTo<Target, Source, Key>",
                ),
            };
            arity(2..=3, shape)?;
            let attr = expect(kind.attribute())?;
            let (source, target) = match kind {
                AssocKind::BelongsTo => (args[1].clone(), args[0].clone()),
                _ => (args[0].clone(), args[1].clone()),
            };
            assoc(attr, kind, source, target, args.get(2).cloned())
        }
        "BelongsToMany" => {
            arity(3..=3, "BelongsToMany<Source, Target, Junction>")?;
            let attr = expect("belongs_to_many")?;
            many(attr, args[0].clone(), args[1].clone(), args[2].clone())
        }
        _ => Err(not_a_handle(ty)),
    }
}

fn not_a_handle(ty: &Type) -> syn::Error {
    syn::Error::new(
        ty.span(),
        "a schema field must be a relata handle: `Table<T>`, `Unique<T, K>`, `Index<T, K>`, \
         `HasMany<S, T>`, `HasOne<S, T>`, `BelongsTo<T, S>` or `BelongsToMany<S, T, J>`",
    )
}

fn unknown(meta: &ParseNestedMeta<'_>, attribute: &str, known: &str) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map_or_else(|| "this".to_string(), |i| format!("`{i}`"));
    meta.error(format!(
        "{name} is not an option of `#[{attribute}]`; its options are {known}"
    ))
}

fn key_index(attr: &Attribute, unique: bool, model: Type) -> syn::Result<Kind> {
    let attribute = if unique { "unique" } else { "index" };
    let known = "a field name, `by = <fn>`, `filter = <fn>` and `name = \"..\"`";
    let (mut field, mut by, mut filter, mut name) = (None, None, None, None);
    attr.parse_nested_meta(|meta| {
        // A bare name is the key field, even one called `name`, `by` or `filter`.
        let bare = meta.input.is_empty() || meta.input.peek(syn::Token![,]);
        if let (Some(ident), true) = (meta.path.get_ident(), bare) {
            if field.is_some() {
                return Err(meta.error(
                    "an index has one key field; for several, use `by = |row| (row.a.clone(), row.b)`",
                ));
            }
            field = Some(ident.clone());
        } else if meta.path.is_ident("by") {
            once(&mut by, meta.value()?.parse::<Expr>()?, &meta)?;
        } else if meta.path.is_ident("filter") {
            once(&mut filter, meta.value()?.parse::<Expr>()?, &meta)?;
        } else if meta.path.is_ident("name") {
            once(&mut name, meta.value()?.parse::<LitStr>()?, &meta)?;
        } else {
            return Err(unknown(&meta, attribute, known));
        }
        Ok(())
    })?;
    let key = match (field, by) {
        (Some(f), None) => {
            if let (Some(name), None) = (&name, &filter) {
                return Err(syn::Error::new(
                    name.span(),
                    "an index on a field is named after the field; `name` is for `by = <fn>` and `filter` indexes",
                ));
            }
            KeyOf::Field(f)
        }
        (None, Some(by)) => KeyOf::By(Box::new(by)),
        (Some(f), Some(_)) => {
            return Err(syn::Error::new(
                f.span(),
                "give either a key field or `by = <fn>`, not both",
            ));
        }
        (None, None) => {
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "`#[{attribute}]` needs a key: a field (`#[{attribute}(email)]`) or `by = <fn>`"
                ),
            ));
        }
    };
    Ok(Kind::Key(KeyIndex {
        unique,
        model,
        key,
        filter,
        name,
    }))
}

fn assoc(
    attr: &Attribute,
    kind: AssocKind,
    source: Type,
    target: Type,
    key_type: Option<Type>,
) -> syn::Result<Kind> {
    let attribute = kind.attribute();
    let known = "`key`, `source_key`, `name`, `inverse`, `on_delete`, `on_update`, `unlink`, \
                 `inverse_of` and `junction_of`";
    let mut a = Assoc {
        kind,
        source,
        target,
        key_type,
        key: Ident::new("key", attr.span()),
        inverse_of: None,
        junction_of: None,
        side_key: None,
        source_key: None,
        name: None,
        inverse: None,
        on_delete: None,
        on_update: None,
        unlink: None,
        span: attr.span(),
    };
    let (mut key, mut options) = (None, 0);
    attr.parse_nested_meta(|meta| {
        let ident =
            |meta: &ParseNestedMeta<'_>| -> syn::Result<Ident> { meta.value()?.parse::<Ident>() };
        let choice = |meta: &ParseNestedMeta<'_>, options: &[&str]| -> syn::Result<Ident> {
            let value = ident(meta)?;
            if options.iter().any(|o| value == o) {
                Ok(value)
            } else {
                Err(syn::Error::new(
                    value.span(),
                    format!("`{value}` is not one of {}", options.join(", ")),
                ))
            }
        };
        const ACTIONS: &[&str] = &["Cascade", "SetNull", "Restrict", "NoAction"];
        options += 1;
        if meta.path.is_ident("key") {
            once(&mut key, ident(&meta)?, &meta)?;
        } else if meta.path.is_ident("source_key") {
            once(&mut a.source_key, ident(&meta)?, &meta)?;
        } else if meta.path.is_ident("name") {
            once(&mut a.name, meta.value()?.parse()?, &meta)?;
        } else if meta.path.is_ident("inverse") {
            once(&mut a.inverse, meta.value()?.parse()?, &meta)?;
        } else if meta.path.is_ident("on_delete") {
            once(&mut a.on_delete, choice(&meta, ACTIONS)?, &meta)?;
        } else if meta.path.is_ident("on_update") {
            once(&mut a.on_update, choice(&meta, ACTIONS)?, &meta)?;
        } else if meta.path.is_ident("unlink") {
            once(
                &mut a.unlink,
                choice(&meta, &["Nullify", "Reject", "Delete"])?,
                &meta,
            )?;
        } else if meta.path.is_ident("inverse_of") {
            once(&mut a.inverse_of, ident(&meta)?, &meta)?;
        } else if meta.path.is_ident("junction_of") {
            once(&mut a.junction_of, ident(&meta)?, &meta)?;
        } else {
            return Err(unknown(&meta, attribute, known));
        }
        Ok(())
    })?;
    if let Some(other) = a.inverse_of.as_ref().or(a.junction_of.as_ref()) {
        let option = if a.inverse_of.is_some() {
            "inverse_of"
        } else {
            "junction_of"
        };
        // A junction side may say which junction key it follows; nothing else.
        let keyed = a.junction_of.is_some() && key.is_some();
        if options > 1 + usize::from(keyed) {
            let but = if a.junction_of.is_some() {
                " but the junction key it follows (`key = ..`)"
            } else {
                ""
            };
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "`{option} = {other}` takes its key and options from `{other}`: give them \
                     there, and nothing else here{but}"
                ),
            ));
        }
        if keyed {
            a.side_key = key;
        }
        return Ok(Kind::Assoc(a));
    }
    match key {
        Some(key) => a.key = key,
        None => {
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "`#[{attribute}]` needs `key = <field>`: the foreign-key field of the target \
                     model (or `inverse_of = <field>` for the other side of an association \
                     declared on that field)"
                ),
            ));
        }
    }
    Ok(Kind::Assoc(a))
}

/// Sets an option given once; a second time is an error (the last one would silently win).
fn once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        let name = meta
            .path
            .get_ident()
            .map_or_else(|| "this option".to_string(), |i| format!("`{i}`"));
        return Err(meta.error(format!("{name} is given twice; give it once")));
    }
    *slot = Some(value);
    Ok(())
}

fn many(attr: &Attribute, source: Type, target: Type, junction: Type) -> syn::Result<Kind> {
    let (mut key, mut other_key) = (None, None);
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("key") {
            once(&mut key, meta.value()?.parse::<Ident>()?, &meta)?;
        } else if meta.path.is_ident("other_key") {
            once(&mut other_key, meta.value()?.parse::<Ident>()?, &meta)?;
        } else {
            return Err(unknown(&meta, "belongs_to_many", "`key` and `other_key`"));
        }
        Ok(())
    })?;
    match (key, other_key) {
        (Some(key), Some(other_key)) => Ok(Kind::Many(Many {
            source,
            target,
            junction,
            key,
            other_key,
        })),
        _ => Err(syn::Error::new(
            attr.span(),
            "`#[belongs_to_many]` needs `key = <field>` and `other_key = <field>`: the junction's \
             foreign keys to the source and to the target",
        )),
    }
}
