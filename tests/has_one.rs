//! HasOne (spec §4): unique targets on every write path, set/create under the unlink policy.

use relata::{AssocOptions, Db, Error, HasOne, Id, Table, Unlink, fk};

#[derive(Clone, Debug, PartialEq)]
struct User;

#[derive(Clone, Debug, PartialEq)]
struct Profile {
    user: Option<Id<User>>,
    bio: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
struct Passport {
    owner: Id<User>,
}

struct World {
    db: Db,
    users: Table<User>,
    profiles: Table<Profile>,
    passports: Table<Passport>,
    profile: HasOne<User, Profile>,
    passport: HasOne<User, Passport>,
}

fn world() -> World {
    let mut db = Db::new();
    let users = db.create_table().unwrap();
    let profiles = db.create_table().unwrap();
    let passports = db.create_table().unwrap();
    let profile = db.has_one(users, profiles, fk!(Profile, user)).unwrap();
    let passport = db
        .has_one_with(
            users,
            passports,
            fk!(Passport, owner),
            AssocOptions::new().name("passport"),
        )
        .unwrap();
    World {
        db,
        users,
        profiles,
        passports,
        profile,
        passport,
    }
}

fn bio(bio: &'static str) -> Profile {
    Profile { user: None, bio }
}

#[test]
fn set_replaces_the_target_and_nulls_the_previous_one() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let a = w.profiles.insert(&mut w.db, bio("a")).unwrap();
    let b = w.profiles.insert(&mut w.db, bio("b")).unwrap();
    w.profile.set(&mut w.db, ada, Some(a)).unwrap();
    w.profile.set(&mut w.db, ada, Some(a)).unwrap(); // the current one again: no-op
    w.profile.set(&mut w.db, ada, Some(b)).unwrap();
    assert_eq!(w.profile.get(&w.db, ada).unwrap().map(|p| p.id()), Some(b));
    assert_eq!(w.profiles.get(&w.db, a).unwrap().user, None);
    w.profile.set(&mut w.db, ada, None).unwrap();
    assert!(w.profile.get(&w.db, ada).unwrap().is_none());
    assert_eq!(w.profiles.get(&w.db, b).unwrap().user, None);
    w.db.check_integrity().unwrap();
}

#[test]
fn set_moves_a_target_away_from_its_previous_source() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let bob = w.users.insert(&mut w.db, User).unwrap();
    let p = w.profile.create(&mut w.db, ada, bio("p")).unwrap();
    w.profile.set(&mut w.db, bob, Some(p)).unwrap();
    assert!(w.profile.get(&w.db, ada).unwrap().is_none());
    assert_eq!(w.profile.get(&w.db, bob).unwrap().map(|r| r.id()), Some(p));
}

#[test]
fn a_second_target_is_refused_on_every_write_path() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let first = w.profile.create(&mut w.db, ada, bio("first")).unwrap();
    let loose = w.profiles.insert(&mut w.db, bio("loose")).unwrap();
    let unique = |e: Error| matches!(e, Error::Unique { model: "Profile", field: "user", ref existing, .. } if *existing == first);
    assert!(unique(
        w.profiles
            .insert(
                &mut w.db,
                Profile {
                    user: Some(ada),
                    bio: "x"
                }
            )
            .unwrap_err()
    ));
    assert!(unique(
        w.profiles
            .update(
                &mut w.db,
                loose,
                Profile {
                    user: Some(ada),
                    bio: "x"
                }
            )
            .unwrap_err()
    ));
    assert!(unique(
        w.profile
            .inverse()
            .set(&mut w.db, loose, Some(ada))
            .unwrap_err()
    ));
    w.profile
        .inverse()
        .set(&mut w.db, first, Some(ada))
        .unwrap(); // itself: fine
    assert_eq!(w.profiles.get(&w.db, loose).unwrap().user, None);
    w.db.check_integrity().unwrap();
}

#[test]
fn a_non_null_key_cannot_be_unlinked_unless_the_policy_deletes() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let old = w
        .passport
        .create(&mut w.db, ada, Passport { owner: ada })
        .unwrap();
    let err = w
        .passport
        .create(&mut w.db, ada, Passport { owner: ada })
        .unwrap_err();
    assert_eq!(
        err,
        Error::Validation {
            model: "Passport",
            field: "owner",
            row: old.into(),
            association: "passport"
        }
    );
    // The advice names the ways to pass the `Delete` policy that exist (`create` takes none).
    let message = err.to_string();
    for advice in ["unlink = Delete", "`set_with`", "`remove_many_with`"] {
        assert!(message.contains(advice), "{message}");
    }
    assert!(!message.contains("`*_with`"), "{message}");
    assert_eq!(
        w.passports.len(&w.db),
        Ok(1),
        "the failed create inserted nothing"
    );
    assert!(matches!(
        w.passport.set(&mut w.db, ada, None),
        Err(Error::Validation { .. })
    ));
    w.passport
        .set_with(&mut w.db, ada, None, Some(Unlink::Delete))
        .unwrap();
    assert!(!w.passports.contains(&w.db, old).unwrap());
    let new = w
        .passport
        .create(&mut w.db, ada, Passport { owner: ada })
        .unwrap();
    assert_eq!(
        w.passport.get(&w.db, ada).unwrap().map(|p| p.id()),
        Some(new)
    );
}

#[test]
fn create_is_atomic_when_the_insert_fails() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let old = w.profile.create(&mut w.db, ada, bio("old")).unwrap();
    // A unique attribute makes the insert of the new profile fail after the old one would
    // have been unlinked.
    let bios =
        w.db.unique(w.profiles, relata::field!(Profile, bio))
            .unwrap();
    let err = w.profile.create(&mut w.db, ada, bio("old")).unwrap_err();
    assert!(matches!(err, Error::Unique { field: "bio", .. }));
    assert_eq!(
        w.profile.get(&w.db, ada).unwrap().map(|p| p.id()),
        Some(old),
        "still linked"
    );
    assert!(bios.find(&w.db, &"old").unwrap().is_some());
}

#[test]
fn unknown_ids_are_not_found_and_change_nothing() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let p = w.profile.create(&mut w.db, ada, bio("p")).unwrap();
    let gone = w.profiles.insert(&mut w.db, bio("gone")).unwrap();
    w.profiles.delete(&mut w.db, gone).unwrap();
    assert!(matches!(
        w.profile.set(&mut w.db, ada, Some(gone)),
        Err(Error::NotFound {
            model: "Profile",
            ..
        })
    ));
    assert_eq!(w.profile.get(&w.db, ada).unwrap().map(|r| r.id()), Some(p));
    w.users.delete(&mut w.db, ada).unwrap();
    assert!(matches!(
        w.profile.get(&w.db, ada),
        Err(Error::NotFound { model: "User", .. })
    ));
    assert_eq!(
        w.profiles.get(&w.db, p).unwrap().user,
        None,
        "on delete SetNull"
    );
}

#[test]
fn declaring_over_duplicate_rows_is_a_unique_error() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let profiles = db.create_table::<Profile>().unwrap();
    let ada = users.insert(&mut db, User).unwrap();
    profiles
        .insert(
            &mut db,
            Profile {
                user: Some(ada),
                bio: "a",
            },
        )
        .unwrap();
    profiles
        .insert(
            &mut db,
            Profile {
                user: Some(ada),
                bio: "b",
            },
        )
        .unwrap();
    assert!(matches!(
        db.has_one(users, profiles, fk!(Profile, user)),
        Err(Error::Unique { .. })
    ));
    // Nothing was declared: the same field can still carry a has-many.
    db.has_many(users, profiles, fk!(Profile, user)).unwrap();
}

#[test]
fn a_has_one_can_use_a_unique_attribute_as_source_key() {
    #[derive(Clone, Debug)]
    struct Account {
        handle: String,
    }
    #[derive(Clone, Debug)]
    struct Avatar {
        owner: Option<String>,
    }
    let mut db = Db::new();
    let accounts = db.create_table::<Account>().unwrap();
    let avatars = db.create_table::<Avatar>().unwrap();
    let handle = db
        .unique(accounts, relata::field!(Account, handle))
        .unwrap();
    let avatar = db
        .has_one_by(handle, avatars, fk!(Avatar, owner), AssocOptions::new())
        .unwrap();
    let ada = accounts
        .insert(
            &mut db,
            Account {
                handle: "ada".into(),
            },
        )
        .unwrap();
    let first = avatar.create(&mut db, ada, Avatar { owner: None }).unwrap();
    assert!(matches!(
        avatars.insert(
            &mut db,
            Avatar {
                owner: Some("ada".into())
            }
        ),
        Err(Error::Unique { .. })
    ));
    accounts
        .modify(&mut db, ada, |a| a.handle = "ada_l".into())
        .unwrap();
    assert_eq!(
        avatars.get(&db, first).unwrap().owner.as_deref(),
        Some("ada_l"),
        "on update Cascade"
    );
    assert_eq!(avatar.get(&db, ada).unwrap().map(|r| r.id()), Some(first));
    db.check_integrity().unwrap();
}

#[test]
fn the_has_many_view_of_a_has_one_cannot_add_a_second_target() {
    let mut w = world();
    let ada = w.users.insert(&mut w.db, User).unwrap();
    let first = w.profile.create(&mut w.db, ada, bio("first")).unwrap();
    let loose = w.profiles.insert(&mut w.db, bio("loose")).unwrap();
    let as_many = w.profile.inverse().inverse();
    for result in [
        as_many.add(&mut w.db, ada, loose).map(drop),
        as_many.add_many(&mut w.db, ada, [loose]).map(drop),
        as_many.set(&mut w.db, ada, [first, loose]).map(drop),
    ] {
        assert!(
            matches!(result, Err(Error::Unique { field: "user", .. })),
            "{result:?}"
        );
    }
    assert_eq!(
        w.profile.get(&w.db, ada).unwrap().map(|p| p.id()),
        Some(first),
        "nothing changed"
    );
    assert_eq!(w.profiles.get(&w.db, loose).unwrap().user, None);
    // Replacing through the same view is fine: the old target is unlinked first.
    as_many.set(&mut w.db, ada, [loose]).unwrap();
    assert_eq!(
        w.profile.get(&w.db, ada).unwrap().map(|p| p.id()),
        Some(loose)
    );
    w.db.check_integrity().unwrap();
}

#[test]
fn relinking_respects_a_unique_attribute_on_the_foreign_key() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let passports = db.create_table::<Passport>().unwrap();
    let owns = db.has_many(users, passports, fk!(Passport, owner)).unwrap();
    db.unique(passports, relata::field!(Passport, owner))
        .unwrap();
    let (ada, bob) = (
        users.insert(&mut db, User).unwrap(),
        users.insert(&mut db, User).unwrap(),
    );
    let a = owns.create(&mut db, ada, Passport { owner: ada }).unwrap();
    let b = owns.create(&mut db, bob, Passport { owner: bob }).unwrap();
    assert!(matches!(
        owns.add(&mut db, ada, b),
        Err(Error::Unique { field: "owner", .. })
    ));
    assert_eq!(passports.get(&db, b).unwrap().owner, bob);
    passports.delete(&mut db, a).unwrap();
    assert!(owns.add(&mut db, ada, b).unwrap(), "free again");
    db.check_integrity().unwrap();
}

/// Two targets one call gives the same source: the clash names the first, as written by that
/// call (it is not kept).
#[test]
fn two_targets_for_one_source_in_one_call_name_the_first_as_that_calls() {
    let mut w = world();
    let user = w.users.insert(&mut w.db, User).unwrap();
    let rows = [Passport { owner: user }, Passport { owner: user }];
    let e = w.passports.insert_many(&mut w.db, rows).unwrap_err();
    assert!(matches!(e, Error::Unique { field: "owner", .. }), "{e:?}");
    assert!(e.to_string().contains("which this same call wrote"), "{e}");
    assert_eq!(w.passports.len(&w.db).unwrap(), 0);
    assert_eq!(w.passport.get(&w.db, user).unwrap().map(|r| r.id()), None);
}

/// Declaring a has-one over targets that already share a source names one of them as the row
/// to change (the declaration wrote neither).
#[test]
fn declaring_a_has_one_over_shared_sources_names_a_row_to_change() {
    let mut db = Db::new();
    let users: Table<User> = db.create_table().unwrap();
    let passports: Table<Passport> = db.create_table().unwrap();
    let user = users.insert(&mut db, User).unwrap();
    let first = passports.insert(&mut db, Passport { owner: user }).unwrap();
    passports.insert(&mut db, Passport { owner: user }).unwrap();
    let e = db
        .has_one(users, passports, fk!(Passport, owner))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unique { existing, .. } if existing.is(first)),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(!message.contains("same call"), "{message}");
    assert!(
        message.ends_with(&format!("change {first:?} first")),
        "{message}"
    );
}
