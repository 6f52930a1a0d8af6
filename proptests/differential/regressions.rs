//! Histories on which relata and SQLite once disagreed, kept as permanent tests. Each was
//! found by `relata_agrees_with_sqlite`, shrunk by proptest, and pasted here from its output.

use crate::{Op::*, Pick, Picks, check};

/// Renaming an author must carry its books along (ON UPDATE CASCADE of an attribute source key).
/// Shrunk by proptest from a run against a build whose on-update cascade forgot the children;
/// pasted verbatim.
#[test]
fn renaming_an_author_moves_its_books() {
    check(&[
        InsertBook {
            author: None,
            title: 0,
        },
        InsertAuthor { name: 1 },
        AuthorAdd {
            author: Pick { live: false, n: 0 },
            books: Picks(vec![Pick { live: false, n: 0 }]),
        },
        RenameAuthor {
            author: Pick { live: false, n: 0 },
            name: 0,
        },
    ]);
}
