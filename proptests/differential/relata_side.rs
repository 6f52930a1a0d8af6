//! The relata side of the differential schema.

use std::collections::HashMap;

use relata::{AssocOptions, BelongsToMany, Db, HasMany, HasOne, Id, OnDelete, Table, field, fk};

use crate::model::{Dump, NAMES, V};

#[derive(Clone, Debug)]
pub struct Author {
    pub name: String,
}
#[derive(Clone, Debug)]
pub struct Book {
    pub author: Option<String>,
    pub title: i64,
}
#[derive(Clone, Debug)]
pub struct Chapter {
    pub book: Id<Book>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Review {
    pub book: Id<Book>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Note {
    pub chapter: Option<Id<Chapter>>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Cover {
    pub book: Option<Id<Book>>,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Tag {
    pub n: i64,
}
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BookTag {
    pub book: Id<Book>,
    pub tag: Id<Tag>,
    pub n: i64,
}

/// Ids issued per table, by creation index; and the way back.
#[derive(Default)]
pub struct Ids {
    pub author: Vec<Id<Author>>,
    pub book: Vec<Id<Book>>,
    pub chapter: Vec<Id<Chapter>>,
    pub review: Vec<Id<Review>>,
    pub note: Vec<Id<Note>>,
    pub cover: Vec<Id<Cover>>,
    pub tag: Vec<Id<Tag>>,
    pub book_tag: Vec<Id<BookTag>>,
    index: HashMap<(&'static str, u64), usize>,
}

/// A model of this schema: its SQL table name and its list of issued ids.
pub trait Named: Sized {
    const TABLE: &'static str;
    fn list(ids: &mut Ids) -> &mut Vec<Id<Self>>;
}

macro_rules! named {
    ($($t:ty => $table:ident),*) => {$(
        impl Named for $t {
            const TABLE: &'static str = stringify!($table);
            fn list(ids: &mut Ids) -> &mut Vec<Id<Self>> {
                &mut ids.$table
            }
        }
    )*};
}
named!(Author => author, Book => book, Chapter => chapter, Review => review, Note => note,
       Cover => cover, Tag => tag, BookTag => book_tag);

impl Ids {
    /// Records a new id; returns its creation index.
    pub fn record<T: Named>(&mut self, id: Id<T>) -> usize {
        let list = T::list(self);
        list.push(id);
        let i = list.len() - 1;
        self.index.insert((T::TABLE, id.seq()), i);
        i
    }

    /// The creation index of `id`.
    pub fn of<T: Named>(&self, id: Id<T>) -> usize {
        self.index[&(T::TABLE, id.seq())]
    }
}

pub struct Rel {
    pub db: Db,
    pub authors: Table<Author>,
    pub books: Table<Book>,
    pub chapters: Table<Chapter>,
    pub reviews: Table<Review>,
    pub notes: Table<Note>,
    pub covers: Table<Cover>,
    pub tags: Table<Tag>,
    pub book_tags: Table<BookTag>,
    pub author_books: HasMany<Author, Book, String>,
    pub book_chapters: HasMany<Book, Chapter>,
    pub cover: HasOne<Book, Cover>,
    pub tagged: BelongsToMany<Book, Tag, BookTag>,
    pub ids: Ids,
}

impl Rel {
    pub fn new() -> Self {
        let mut db = Db::new();
        let authors = db.create_table().unwrap();
        let books = db.create_table().unwrap();
        let chapters = db.create_table().unwrap();
        let reviews = db.create_table().unwrap();
        let notes = db.create_table().unwrap();
        let covers = db.create_table().unwrap();
        let tags = db.create_table().unwrap();
        let book_tags = db.create_table().unwrap();
        let names = db.unique(authors, field!(Author, name)).unwrap();
        // Nullable attribute key: on delete SetNull, on update Cascade (the defaults).
        let author_books = db
            .has_many_by(names, books, fk!(Book, author), AssocOptions::new())
            .unwrap();
        // Non-null: on delete Cascade (the default).
        let book_chapters = db.has_many(books, chapters, fk!(Chapter, book)).unwrap();
        let restrict = AssocOptions::new().on_delete(OnDelete::Restrict);
        db.has_many_with(books, reviews, fk!(Review, book), restrict)
            .unwrap();
        let no_action = AssocOptions::new().on_delete(OnDelete::NoAction);
        db.has_many_with(chapters, notes, fk!(Note, chapter), no_action)
            .unwrap();
        let cover = db.has_one(books, covers, fk!(Cover, book)).unwrap();
        let tagged = db
            .belongs_to_many(
                books,
                tags,
                book_tags,
                fk!(BookTag, book),
                fk!(BookTag, tag),
            )
            .unwrap();
        Rel {
            db,
            authors,
            books,
            chapters,
            reviews,
            notes,
            covers,
            tags,
            book_tags,
            author_books,
            book_chapters,
            cover,
            tagged,
            ids: Ids::default(),
        }
    }

    pub fn dump(&self) -> Dump {
        let (db, ids) = (&self.db, &self.ids);
        let name = |s: &str| V::Name(NAMES.iter().position(|n| *n == s).unwrap());
        let key = |v: Option<usize>| v.map_or(V::Null, V::Ref);
        let mut out = Dump::new();
        macro_rules! dump {
            ($t:expr, |$r:ident| $values:expr) => {{
                let rows: Vec<(usize, Vec<V>)> = $t
                    .iter(db)
                    .unwrap()
                    .map(|$r| (ids.of($r.id()), $values))
                    .collect();
                out.insert(table_name(&$t), rows);
            }};
        }
        dump!(self.authors, |r| vec![name(&r.name)]);
        dump!(self.books, |r| vec![
            r.author.as_deref().map_or(V::Null, name),
            V::Int(r.title)
        ]);
        dump!(self.chapters, |r| vec![V::Ref(ids.of(r.book)), V::Int(r.n)]);
        dump!(self.reviews, |r| vec![V::Ref(ids.of(r.book)), V::Int(r.n)]);
        dump!(self.notes, |r| vec![
            key(r.chapter.map(|c| ids.of(c))),
            V::Int(r.n)
        ]);
        dump!(self.covers, |r| vec![
            key(r.book.map(|b| ids.of(b))),
            V::Int(r.n)
        ]);
        dump!(self.tags, |r| vec![V::Int(r.n)]);
        dump!(self.book_tags, |r| vec![
            V::Ref(ids.of(r.book)),
            V::Ref(ids.of(r.tag)),
            V::Int(r.n)
        ]);
        out
    }
}

fn table_name<T: Named>(_: &Table<T>) -> &'static str {
    T::TABLE
}
