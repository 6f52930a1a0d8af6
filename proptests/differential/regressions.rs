//! Histories on which relata and SQLite once disagreed, kept as permanent tests (each found by
//! one of the properties, shrunk by proptest, and pasted here from its output), and histories
//! that pin the cases each schema exists for.

use crate::{Op::*, Pick, Picks, check, keys, restrict};

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

/// A code by name: `NAMES[n]`.
fn code(n: usize) -> Option<keys::Code> {
    Some(keys::Code { live: false, n })
}

/// The `n`-th row ever created.
fn nth(n: usize) -> Pick {
    Pick { live: false, n }
}

/// Renaming an org renames its dept, whose desks follow: an on-update cascade two attribute
/// keys long; a badge is nulled (ON UPDATE SET NULL).
#[test]
fn renaming_an_org_moves_its_dept_and_desks() {
    use keys::{Kind::*, Op::*};
    keys::check(&[
        Insert {
            kind: Org,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Dept,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Desk,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Badge,
            code: code(1),
            n: 0,
        },
        Update {
            kind: Org,
            row: nth(0),
            code: code(2),
            n: 1,
            modify: false,
        },
        Update {
            kind: Org,
            row: nth(0),
            code: code(3),
            n: 2,
            modify: true,
        },
    ]);
}

/// The same rename blocked at the end of the chain by a pin (ON UPDATE RESTRICT on dept.code)
/// changes nothing.
#[test]
fn a_pin_blocks_the_rename_of_its_org() {
    use keys::{Kind::*, Op::*};
    keys::check(&[
        Insert {
            kind: Org,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Dept,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Desk,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Pin,
            code: code(1),
            n: 0,
        },
        Update {
            kind: Org,
            row: nth(0),
            code: code(2),
            n: 1,
            modify: false,
        },
    ]);
}

/// relata bug, found by `key_chains_agree_with_sqlite` (shrunk, then the chain cut to one
/// link): renaming the org fails, since a lock (ON UPDATE NO ACTION) would dangle; undoing the
/// badge's on-update SET NULL must give the badge its key back. relata left the badge's key
/// null while its index had it back under "dov" (`check_integrity` fails; with ON UPDATE
/// CASCADE instead of SET NULL, the same). The rollback of a logged fast relink (`Undo::Relinked`)
/// restores the old key from a raw id, which attribute keys do not have.
#[test]
fn a_failed_rename_restores_its_childrens_keys() {
    use keys::{Kind::*, Op::*};
    keys::check(&[
        Insert {
            kind: Org,
            code: code(3),
            n: 0,
        },
        Insert {
            kind: Badge,
            code: code(3),
            n: 0,
        },
        Insert {
            kind: Lock,
            code: code(3),
            n: 0,
        },
        Update {
            kind: Org,
            row: nth(0),
            code: code(0),
            n: 0,
            modify: false,
        },
    ]);
}

/// The same relata bug through `HasMany::add_many`, without any NO ACTION: moving dept 0 to
/// org 2 moves its desk (ON UPDATE CASCADE, a fast relink); moving dept 1 to the same org
/// breaks dept.code's uniqueness, and the rollback nulled the desk's key.
#[test]
fn a_failed_add_many_restores_the_desks_keys() {
    use keys::{Kind::*, Op::*};
    keys::check(&[
        Insert {
            kind: Org,
            code: code(0),
            n: 0,
        },
        Insert {
            kind: Org,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Org,
            code: code(2),
            n: 0,
        },
        Insert {
            kind: Dept,
            code: code(0),
            n: 0,
        },
        Insert {
            kind: Dept,
            code: code(1),
            n: 0,
        },
        Insert {
            kind: Desk,
            code: code(0),
            n: 0,
        },
        DeptsAdd {
            org: nth(2),
            depts: Picks(vec![nth(0), nth(1)]),
        },
    ]);
}

/// Deleting an account whose child would also go through the account's project: RESTRICT
/// blocks (bill: on the account; task: on the project) and changes nothing, NO ACTION lets it
/// through (memo, note), in both of relata's declaration orders.
#[test]
fn restrict_reached_by_the_same_cascade() {
    use restrict::Op::*;
    for reversed in [false, true] {
        for kind in 0..5 {
            restrict::check(
                reversed,
                &[
                    InsertAccount { n: 0 },
                    InsertProject { account: nth(0) },
                    Insert {
                        kind,
                        account: Some(nth(0)),
                        project: nth(0),
                    },
                    DeleteAccount { account: nth(0) },
                ],
            );
        }
    }
}
