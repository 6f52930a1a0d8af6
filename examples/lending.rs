//! A small lending library: members borrow books, loans fall due.
//!
//! Shows relata's queries beyond foreign keys: a secondary index (loans by due date), a
//! composite one (loans by member and due date), a partial unique index (one active loan per
//! book), lookups by `&str`, set-based updates and deletes over an index range, and upserts.
//!
//! Run with `cargo run --example lending`.

use relata::{HasMany, Id, Index, Query, Row, Schema, Table, Unique};

#[derive(Clone, Debug)]
struct Member {
    name: String,
}

#[derive(Clone, Debug)]
struct Book {
    title: String,
}

#[derive(Clone, Debug)]
struct Loan {
    member: Id<Member>,
    book: Id<Book>,
    /// The day the book is due back.
    due_on: u32,
    returned: bool,
}

#[derive(Clone, Debug)]
struct Tag {
    name: String,
    uses: u32,
}

/// The schema in one place. Each attribute is the SQL it stands for.
#[derive(Schema, Clone, Copy)]
struct Library {
    members: Table<Member>,
    books: Table<Book>,
    loans: Table<Loan>,
    tags: Table<Tag>,
    // loans.member REFERENCES members ON DELETE CASCADE (the key is not null)
    #[has_many(key = member)]
    member_loans: HasMany<Member, Loan>,
    #[has_many(key = book)]
    book_loans: HasMany<Book, Loan>,
    // CREATE INDEX loans_due ON loans (due_on)
    #[index(due_on)]
    by_due: Index<Loan, u32>,
    // CREATE INDEX member_due ON loans (member, due_on)
    #[index(by = |l: &Loan| (l.member, l.due_on), name = "member_due")]
    by_member_due: Index<Loan, (Id<Member>, u32)>,
    // CREATE UNIQUE INDEX active_loan ON loans (book) WHERE NOT returned
    #[unique(book, filter = |l: &Loan| !l.returned, name = "active_loan")]
    active_loan: Unique<Loan, Id<Book>>,
    #[unique(title)]
    by_title: Unique<Book, String>,
    #[unique(name)]
    tag_by_name: Unique<Tag, String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut db, lib) = Library::new()?;

    let ada = lib.members.insert(&mut db, Member { name: "Ada".into() })?;
    let bob = lib.members.insert(&mut db, Member { name: "Bob".into() })?;
    let titles = ["Solaris", "Dune", "Emma", "Ubik", "Kindred"];
    let books = lib
        .books
        .insert_many(&mut db, titles.map(|t| Book { title: t.into() }))?;
    let loan = |member, book, due_on| Loan {
        member,
        book,
        due_on,
        returned: false,
    };
    lib.loans.insert_many(
        &mut db,
        [
            loan(ada, books[0], 3),
            loan(ada, books[1], 9),
            loan(bob, books[2], 4),
            loan(bob, books[3], 20),
        ],
    )?;

    // A book can have only one active loan: the partial unique index refuses a second one.
    let second = lib.loans.insert(&mut db, loan(ada, books[2], 30));
    println!("lending Emma twice -> {}", second.unwrap_err());

    // Overdue loans per member: one range of the composite index each, no scan.
    let today = 10;
    for member in lib.members.iter(&db)? {
        let overdue: Vec<&str> = lib
            .by_member_due
            .range(&db, (member.id(), 0)..(member.id(), today))?
            .map(|l| lib.books.get(&db, l.book).map(|b| b.value().title.as_str()))
            .collect::<Result<_, _>>()?;
        println!("{} has overdue: {overdue:?}", member.name);
    }

    // All overdue loans, latest due first, at most two: a query over an index range.
    let page = Query::new()
        .order_by(|a: &Row<Loan>, b: &Row<Loan>| b.due_on.cmp(&a.due_on))
        .limit(2);
    let latest: Vec<u32> = lib
        .by_due
        .query(&db, ..today, &page)?
        .iter()
        .map(|l| l.due_on)
        .collect();
    println!("latest overdue due dates: {latest:?}");

    // Find by &str on a String key.
    let dune = lib.by_title.find(&db, "Dune")?.map(|b| b.id());
    println!("find(\"Dune\") -> {dune:?}");

    // UPDATE loans SET due_on = due_on + 7 WHERE due_on < today: one atomic set-based update.
    let extended = lib
        .by_due
        .modify_range(&mut db, ..today, |l| l.due_on += 7)?;
    println!("extended {extended} overdue loans by a week");

    // Ada returns everything: set-based update through the association's rows.
    let ada_loans: Vec<Id<Loan>> = lib.member_loans.get(&db, ada)?.map(|l| l.id()).collect();
    let returned = lib.loans.modify_where(
        &mut db,
        |l| ada_loans.contains(&l.id()),
        |l| l.returned = true,
    )?;
    println!("Ada returned {returned} books; Solaris can be lent again");
    lib.loans.insert(&mut db, loan(bob, books[0], 25))?;

    // DELETE FROM loans WHERE returned: cascades and the report come with it.
    let report = lib.loans.delete_where(&mut db, |l| l.returned)?;
    println!("deleted returned loans: {report}");

    // findOrCreate and upsert by a unique key.
    let (sf, created) = lib.tag_by_name.find_or_insert(
        &mut db,
        Tag {
            name: "sf".into(),
            uses: 0,
        },
    )?;
    let (again, created_again) = lib.tag_by_name.find_or_insert(
        &mut db,
        Tag {
            name: "sf".into(),
            uses: 0,
        },
    )?;
    assert_eq!(sf, again);
    println!("find_or_insert(sf) -> created {created}, then {created_again}");
    let (_, inserted) = lib.tag_by_name.upsert(
        &mut db,
        Tag {
            name: "sf".into(),
            uses: 3,
        },
    )?;
    println!(
        "upsert(sf, uses 3) -> inserted {inserted}; uses now {}",
        lib.tags.get(&db, sf)?.uses
    );

    println!(
        "{} active loans; {} overall due in the next 30 days",
        lib.active_loan.iter(&db)?.len(),
        lib.by_due.count_range(&db, today..today + 30)?
    );
    db.check_integrity()?;
    println!("integrity check passed");
    Ok(())
}
