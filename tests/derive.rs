//! `#[derive(Schema)]` (#14): a whole schema from one struct, every kind of handle and option,
//! the same schema as the plain API declares, and the behaviour the options ask for.
#![cfg(feature = "derive")]

use relata::{
    BelongsTo, BelongsToMany, Db, Error, HasMany, HasOne, Id, Index, Schema, Table, Unique,
};

#[derive(Clone, Debug, PartialEq)]
struct Member {
    name: String,
    email: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Card {
    member: Option<Id<Member>>,
    number: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Book {
    title: String,
    year: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Loan {
    member: Id<Member>,
    book: Id<Book>,
    due_on: u32,
    returned: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct Note {
    author_email: Option<String>,
    text: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Tag {
    name: String,
}

#[derive(Clone, Debug, PartialEq, Default)]
struct BookTag {
    book: Id<Book>,
    tag: Id<Tag>,
}

#[derive(Schema, Clone, Copy, Debug)]
struct Library {
    members: Table<Member>,
    cards: Table<Card>,
    books: Table<Book>,
    loans: Table<Loan>,
    notes: Table<Note>,
    tags: Table<Tag>,
    book_tags: Table<BookTag>,

    #[unique(email)]
    member_email: Unique<Member, String>,
    #[index(year)]
    books_by_year: Index<Book, u32>,
    #[index(by = |l: &Loan| (l.member, l.due_on))]
    loans_by_member_due: Index<Loan, (Id<Member>, u32)>,
    #[unique(book, filter = |l: &Loan| !l.returned, name = "active_loan")]
    active_loan: Unique<Loan, Id<Book>>,
    #[index(by = |b: &Book| b.title.len(), filter = |b: &Book| b.year > 1900)]
    modern_by_title_length: Index<Book, usize>,
    // A key field called like an option (regression: read as `name = ..`).
    #[unique(name)]
    tag_names: Unique<Tag, String>,

    #[has_many(key = member, on_delete = Restrict, name = "loans", inverse = "borrower")]
    member_loans: HasMany<Member, Loan>,
    #[belongs_to(key = book)]
    loan_book: BelongsTo<Loan, Book>,
    #[has_one(key = member, on_delete = SetNull, unlink = Nullify)]
    member_card: HasOne<Member, Card>,
    #[has_many(key = author_email, source_key = member_email, on_update = Cascade, on_delete = SetNull)]
    member_notes: HasMany<Member, Note, String>,
    #[belongs_to_many(key = book, other_key = tag)]
    book_tag_links: BelongsToMany<Book, Tag, BookTag>,
}

/// The same schema, declared with the plain API: what the derive expands to.
fn plain(db: &mut Db) -> relata::Result<()> {
    use relata::{AssocOptions, OnDelete, OnUpdate, Unlink, field, fk};
    let members = db.create_table::<Member>()?;
    let cards = db.create_table::<Card>()?;
    let books = db.create_table::<Book>()?;
    let loans = db.create_table::<Loan>()?;
    let notes = db.create_table::<Note>()?;
    let tags = db.create_table::<Tag>()?;
    let book_tags = db.create_table::<BookTag>()?;
    let member_email = db.unique(members, field!(Member, email))?;
    db.index(books, field!(Book, year))?;
    db.index_by(loans, "loans_by_member_due", |l: &Loan| {
        (l.member, l.due_on)
    })?;
    db.unique_where(
        loans,
        "active_loan",
        |l: &Loan| !l.returned,
        |l: &Loan| l.book,
    )?;
    db.index_where(
        books,
        "modern_by_title_length",
        |b: &Book| b.year > 1900,
        |b: &Book| b.title.len(),
    )?;
    db.unique(tags, field!(Tag, name))?;
    let options = AssocOptions::new()
        .name("loans")
        .inverse("borrower")
        .on_delete(OnDelete::Restrict);
    db.has_many_with(members, loans, fk!(Loan, member), options)?;
    db.has_many_with(books, loans, fk!(Loan, book), AssocOptions::new())?;
    let options = AssocOptions::new()
        .on_delete(OnDelete::SetNull)
        .unlink(Unlink::Nullify);
    db.has_one_with(members, cards, fk!(Card, member), options)?;
    let options = AssocOptions::new()
        .on_update(OnUpdate::Cascade)
        .on_delete(OnDelete::SetNull);
    db.has_many_by(member_email, notes, fk!(Note, author_email), options)?;
    db.belongs_to_many(
        books,
        tags,
        book_tags,
        fk!(BookTag, book),
        fk!(BookTag, tag),
    )?;
    Ok(())
}

#[test]
fn the_derive_declares_what_the_plain_api_declares() {
    let (derived, _) = Library::new().unwrap();
    let mut by_hand = Db::new();
    plain(&mut by_hand).unwrap();
    assert_eq!(derived.schema(), by_hand.schema());
    assert!(
        derived.schema().contains("on delete Restrict"),
        "{}",
        derived.schema()
    );
}

fn member(name: &str) -> Member {
    Member {
        name: name.into(),
        email: format!("{name}@example.com"),
    }
}

#[test]
fn handles_work_and_options_take_effect() {
    let (mut db, lib) = Library::new().unwrap();
    let ada = lib.members.insert(&mut db, member("ada")).unwrap();
    let dune = lib
        .books
        .insert(
            &mut db,
            Book {
                title: "Dune".into(),
                year: 1965,
            },
        )
        .unwrap();
    // create_with: the loan is built from its key, no placeholder.
    let loan = lib
        .member_loans
        .create_with(&mut db, ada, |member| Loan {
            member,
            book: dune,
            due_on: 3,
            returned: false,
        })
        .unwrap();
    assert_eq!(lib.loan_book.get(&db, loan).unwrap().unwrap().title, "Dune");
    assert_eq!(
        lib.member_email
            .find(&db, "ada@example.com")
            .unwrap()
            .unwrap()
            .id(),
        ada
    );
    assert_eq!(lib.books_by_year.count(&db, &1965).unwrap(), 1);
    assert_eq!(lib.loans_by_member_due.count(&db, &(ada, 3)).unwrap(), 1);
    assert_eq!(lib.modern_by_title_length.count(&db, &4).unwrap(), 1);

    // Partial unique: one active loan per book.
    let again = Loan {
        member: ada,
        book: dune,
        due_on: 9,
        returned: false,
    };
    assert!(matches!(
        lib.loans.insert(&mut db, again.clone()),
        Err(Error::Unique { .. })
    ));
    lib.loans
        .modify(&mut db, loan, |l| l.returned = true)
        .unwrap();
    lib.loans.insert(&mut db, again).unwrap();

    // Restrict, under the declared name.
    let blocked = lib.members.delete(&mut db, ada).unwrap_err();
    assert!(
        matches!(
            blocked,
            Error::Restricted {
                association: "loans",
                ..
            }
        ),
        "{blocked}"
    );

    // HasOne with SetNull; BelongsToMany.
    let card = lib
        .member_card
        .create(
            &mut db,
            ada,
            Card {
                member: None,
                number: 7,
            },
        )
        .unwrap();
    assert_eq!(lib.member_card.get(&db, ada).unwrap().unwrap().id(), card);
    let scifi = lib
        .book_tag_links
        .create(&mut db, dune, Tag { name: "sf".into() })
        .unwrap();
    assert!(lib.book_tag_links.has(&db, dune, scifi).unwrap());

    // A key by attribute follows its source (on update Cascade), and is nulled on delete.
    let note = lib
        .member_notes
        .create(
            &mut db,
            ada,
            Note {
                author_email: None,
                text: "hi".into(),
            },
        )
        .unwrap();
    lib.members
        .modify(&mut db, ada, |m| m.email = "ada@new.org".into())
        .unwrap();
    assert_eq!(
        lib.notes.get(&db, note).unwrap().author_email.as_deref(),
        Some("ada@new.org")
    );
    lib.loans.delete_where(&mut db, |_| true).unwrap();
    lib.members.delete(&mut db, ada).unwrap();
    assert_eq!(lib.notes.get(&db, note).unwrap().author_email, None);
    assert_eq!(lib.cards.get(&db, card).unwrap().member, None);
    db.check_integrity().unwrap();
}

#[test]
fn a_schema_declares_on_an_existing_database_atomically() {
    let mut db = Db::new();
    let members = db.create_table::<Member>().unwrap();
    // A table of Member already exists: the whole declaration fails, and nothing of it stays.
    let error = Library::declare(&mut db).unwrap_err();
    assert!(matches!(error, Error::Definition { .. }), "{error}");
    assert_eq!(db.schema(), "table Member");
    members.insert(&mut db, member("bob")).unwrap();

    let mut fresh = Db::new();
    let lib = <Library as Schema>::declare(&mut fresh).unwrap();
    lib.members.insert(&mut fresh, member("cy")).unwrap();
    let (_, other) = Library::create().unwrap();
    // Handles of one database are unknown to another.
    assert!(matches!(
        other.members.len(&fresh),
        Err(Error::UnknownHandle { .. })
    ));
}

#[derive(Clone, Debug, PartialEq)]
struct Writer {
    name: String,
    active: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct Draft {
    writer: Id<Writer>,
    editor: Option<Id<Writer>>,
    stars: u8,
}

/// Regressions (found by an adversarial test session): a field named `db` shadowed the
/// database inside the generated `declare` (the schema did not compile), and a filtered index
/// without `name` was named after its key field instead of the schema field, so two indexes of
/// one key could not be told apart in `schema()` and errors.
#[derive(Schema)]
struct Newsroom {
    db: Table<Writer>,
    drafts: Table<Draft>,
    #[index(stars)]
    draft_stars: Index<Draft, u8>,
    #[index(stars, filter = |d: &Draft| d.editor.is_none())]
    unedited_stars: Index<Draft, u8>,
    #[unique(name, filter = |w: &Writer| w.active)]
    active_name: Unique<Writer, String>,
    #[has_many(key = writer)]
    written: HasMany<Writer, Draft>,
}

#[test]
fn a_field_named_db_and_filtered_indexes_named_after_their_field() {
    let (mut db, news) = Newsroom::new().unwrap();
    let schema = db.schema();
    assert!(schema.contains("unedited_stars"), "{schema}");
    assert!(schema.contains("active_name"), "{schema}");
    assert_eq!(
        format!("{:?}", news.unedited_stars),
        "Index<Draft.unedited_stars>"
    );
    assert_eq!(
        format!("{:?}", news.active_name),
        "Unique<Writer.active_name>"
    );
    let ada = Writer {
        name: "ada".into(),
        active: true,
    };
    let id = news.db.insert(&mut db, ada.clone()).unwrap();
    let error = news.db.insert(&mut db, ada).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unique {
                field: "active_name",
                ..
            }
        ),
        "{error}"
    );
    news.written
        .create(
            &mut db,
            id,
            Draft {
                writer: id,
                editor: None,
                stars: 3,
            },
        )
        .unwrap();
    assert_eq!(news.unedited_stars.count_range(&db, 3..=3), Ok(1));
    assert_eq!(news.draft_stars.count_range(&db, ..), Ok(1));
}

#[derive(Clone, Debug, PartialEq)]
struct Mail {
    from: Id<Writer>,
    to: Option<Id<Writer>>,
}

/// Two associations without a name on one model are named after their schema fields (by
/// default an association is named after the model holding its key, and both would read
/// "Mail" in every message); an association whose model is its own keeps that default.
#[derive(Schema)]
struct Post {
    writers: Table<Writer>,
    drafts: Table<Draft>,
    mails: Table<Mail>,
    #[has_many(key = from, on_delete = Restrict)]
    sent: HasMany<Writer, Mail>,
    #[has_many(key = to, on_delete = Restrict)]
    received: HasMany<Writer, Mail>,
    #[has_many(key = writer, on_delete = Restrict)]
    written: HasMany<Writer, Draft>,
}

#[test]
fn associations_sharing_a_model_are_named_after_their_fields() {
    let (mut db, post) = Post::new().unwrap();
    let schema = db.schema();
    assert!(
        schema.contains("sent") && schema.contains("received"),
        "{schema}"
    );
    let writer = |name: &str| Writer {
        name: name.into(),
        active: true,
    };
    let (ann, bob) = (
        post.writers.insert(&mut db, writer("ann")).unwrap(),
        post.writers.insert(&mut db, writer("bob")).unwrap(),
    );
    let mail = Mail {
        from: ann,
        to: Some(bob),
    };
    post.mails.insert(&mut db, mail).unwrap();
    let blocked = |db: &mut Db, who| match post.writers.delete(db, who).unwrap_err() {
        Error::Restricted { association, .. } => association,
        other => panic!("{other:?}"),
    };
    assert_eq!(blocked(&mut db, ann), "sent");
    assert_eq!(blocked(&mut db, bob), "received");
    let cy = post.writers.insert(&mut db, writer("cy")).unwrap();
    let draft = Draft {
        writer: cy,
        editor: None,
        stars: 1,
    };
    post.drafts.insert(&mut db, draft).unwrap();
    assert_eq!(blocked(&mut db, cy), "Draft");
}

#[derive(Clone, Debug)]
struct Kind {
    r#ref: String,
}

#[derive(Clone, Debug)]
struct Item {
    r#type: Id<Kind>,
}

#[derive(Schema, Clone, Copy)]
struct Raw {
    kinds: Table<Kind>,
    items: Table<Item>,
    #[unique(r#ref)]
    kind_ref: Unique<Kind, String>,
    #[has_many(key = r#type, on_delete = Restrict)]
    r#use: HasMany<Kind, Item>,
}

#[test]
fn raw_identifiers_read_as_their_names_in_messages_and_the_schema() {
    let (mut db, raw) = Raw::new().unwrap();
    let schema = db.schema();
    assert!(!schema.contains("r#"), "{schema}");
    assert!(schema.contains("Item.type"), "{schema}");
    let k = raw
        .kinds
        .insert(&mut db, Kind { r#ref: "a".into() })
        .unwrap();
    raw.r#use.create(&mut db, k, Item { r#type: k }).unwrap();
    let dup = raw.kinds.insert(&mut db, Kind { r#ref: "a".into() });
    let message = dup.unwrap_err().to_string();
    assert!(
        message.contains("ref") && !message.contains("r#"),
        "{message}"
    );
    let message = raw.kinds.delete(&mut db, k).unwrap_err().to_string();
    assert!(!message.contains("r#"), "{message}");
}
