//! BelongsToMany (spec §4): pairs through a typed junction with payload.

use relata::{BelongsToMany, Db, Error, Id, Table, fk};

#[derive(Clone, Debug, PartialEq)]
struct Student {
    name: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
struct Course {
    title: &'static str,
}

/// `Default` serves `add`, `set` and `create` without payload: relata overwrites the keys.
#[derive(Clone, Debug, PartialEq, Default)]
struct Enrollment {
    student: Id<Student>,
    course: Id<Course>,
    grade: Option<u8>,
}

struct School {
    db: Db,
    students: Table<Student>,
    courses: Table<Course>,
    enrollments: Table<Enrollment>,
    takes: BelongsToMany<Student, Course, Enrollment>,
}

fn school() -> School {
    let mut db = Db::new();
    let students = db.create_table().unwrap();
    let courses = db.create_table().unwrap();
    let enrollments = db.create_table().unwrap();
    let takes = db
        .belongs_to_many(
            students,
            courses,
            enrollments,
            fk!(Enrollment, student),
            fk!(Enrollment, course),
        )
        .unwrap();
    School {
        db,
        students,
        courses,
        enrollments,
        takes,
    }
}

/// Ada and Bob both take math.
fn two_take_math() -> (School, Id<Student>, Id<Student>, Id<Course>) {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let bob = s
        .students
        .insert(&mut s.db, Student { name: "bob" })
        .unwrap();
    let math = s
        .courses
        .insert(&mut s.db, Course { title: "math" })
        .unwrap();
    s.takes.add(&mut s.db, ada, math).unwrap();
    s.takes.add(&mut s.db, bob, math).unwrap();
    (s, ada, bob, math)
}

fn titles(s: &School, student: Id<Student>) -> Vec<(&'static str, Option<u8>)> {
    s.takes
        .get(&s.db, student)
        .unwrap()
        .iter()
        .map(|(c, e)| (c.title, e.grade))
        .collect()
}

#[test]
fn add_is_idempotent_and_add_through_updates_the_payload() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let math = s
        .courses
        .insert(&mut s.db, Course { title: "math" })
        .unwrap();
    assert!(s.takes.add(&mut s.db, ada, math).unwrap());
    assert!(!s.takes.add(&mut s.db, ada, math).unwrap());
    assert_eq!(s.enrollments.len(&s.db), Ok(1));
    let e = Enrollment {
        student: ada,
        course: math,
        grade: Some(4),
    };
    assert!(!s.takes.add_through(&mut s.db, ada, math, e).unwrap());
    assert_eq!(titles(&s, ada), [("math", Some(4))]);
    assert_eq!(s.takes.count(&s.db, ada).unwrap(), 1);
    assert!(s.takes.inverse().has(&s.db, math, ada).unwrap());
    assert_eq!(s.takes.inverse().get(&s.db, math).unwrap()[0].0.name, "ada");
}

#[test]
fn get_orders_targets_by_creation_and_has_all_uses_set_semantics() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let a = s.courses.insert(&mut s.db, Course { title: "a" }).unwrap();
    let b = s.courses.insert(&mut s.db, Course { title: "b" }).unwrap();
    let c = s.courses.insert(&mut s.db, Course { title: "c" }).unwrap();
    assert_eq!(s.takes.add_many(&mut s.db, ada, [c, a, c]).unwrap(), 2);
    assert_eq!(titles(&s, ada), [("a", None), ("c", None)]);
    assert!(s.takes.has_all(&s.db, ada, [a, c, a]).unwrap());
    assert!(s.takes.has_all(&s.db, ada, []).unwrap());
    assert!(!s.takes.has_all(&s.db, ada, [a, b]).unwrap());
}

#[test]
fn remove_deletes_junction_rows_only() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let a = s.courses.insert(&mut s.db, Course { title: "a" }).unwrap();
    let b = s.courses.insert(&mut s.db, Course { title: "b" }).unwrap();
    s.takes.add_many(&mut s.db, ada, [a, b]).unwrap();
    assert!(s.takes.remove(&mut s.db, ada, a).unwrap());
    assert!(!s.takes.remove(&mut s.db, ada, a).unwrap());
    assert_eq!(s.courses.len(&s.db), Ok(2));
    assert_eq!(s.enrollments.len(&s.db), Ok(1));
    assert_eq!(s.takes.remove_many(&mut s.db, ada, [a, b, b]).unwrap(), 1);
    assert!(s.enrollments.is_empty(&s.db).unwrap());
}

#[test]
fn set_diffs_pairs_and_set_through_updates_changed_payloads() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let [a, b, c] =
        ["a", "b", "c"].map(|title| s.courses.insert(&mut s.db, Course { title }).unwrap());
    s.takes.add_many(&mut s.db, ada, [a, b]).unwrap();
    let kept = s.takes.get(&s.db, ada).unwrap()[1].1.id();
    assert_eq!(
        s.takes.set(&mut s.db, ada, [b, c]).unwrap(),
        2,
        "a removed, c added"
    );
    assert_eq!(titles(&s, ada), [("b", None), ("c", None)]);
    assert!(
        s.enrollments.contains(&s.db, kept).unwrap(),
        "b's junction row is untouched"
    );
    let graded = |course, grade| {
        (
            course,
            Enrollment {
                student: ada,
                course,
                grade,
            },
        )
    };
    assert_eq!(
        s.takes
            .set_through(&mut s.db, ada, [graded(b, None), graded(c, Some(3))])
            .unwrap(),
        1
    );
    assert_eq!(titles(&s, ada), [("b", None), ("c", Some(3))]);
    // A target listed twice is linked once, with the last payload listed for it.
    assert_eq!(
        s.takes
            .set_through(
                &mut s.db,
                ada,
                [graded(b, Some(1)), graded(c, Some(3)), graded(b, Some(2))]
            )
            .unwrap(),
        1
    );
    assert_eq!(titles(&s, ada), [("b", Some(2)), ("c", Some(3))]);
    assert_eq!(s.enrollments.len(&s.db).unwrap(), 2);
    assert_eq!(s.takes.set(&mut s.db, ada, []).unwrap(), 2);
    assert_eq!(s.takes.count(&s.db, ada).unwrap(), 0);
}

#[test]
fn create_inserts_the_target_and_the_pair() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let e = Enrollment {
        student: ada,
        course: Enrollment::default().course,
        grade: Some(1),
    };
    let art = s
        .takes
        .create_through(&mut s.db, ada, Course { title: "art" }, e)
        .unwrap();
    assert_eq!(titles(&s, ada), [("art", Some(1))]);
    assert!(s.takes.has(&s.db, ada, art).unwrap());
    let gone = s
        .students
        .insert(&mut s.db, Student { name: "gone" })
        .unwrap();
    s.students.delete(&mut s.db, gone).unwrap();
    assert!(matches!(
        s.takes.create(&mut s.db, gone, Course { title: "x" }),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(s.courses.len(&s.db), Ok(1), "no orphan target");
}

#[test]
fn deleting_an_endpoint_deletes_its_junction_rows() {
    let (mut s, ada, _bob, math) = two_take_math();
    let report = s.courses.delete(&mut s.db, math).unwrap().report;
    assert_eq!(report.to_string(), "deleted 1 Course, 2 Enrollment");
    assert_eq!(s.takes.count(&s.db, ada).unwrap(), 0);
    s.db.check_integrity().unwrap();
}

#[test]
fn a_pair_appears_at_most_once_even_through_the_junction_table() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let math = s
        .courses
        .insert(&mut s.db, Course { title: "math" })
        .unwrap();
    let art = s
        .courses
        .insert(&mut s.db, Course { title: "art" })
        .unwrap();
    let first = s
        .enrollments
        .insert(
            &mut s.db,
            Enrollment {
                student: ada,
                course: math,
                grade: None,
            },
        )
        .unwrap();
    let dup = s.enrollments.insert(
        &mut s.db,
        Enrollment {
            student: ada,
            course: math,
            grade: Some(1),
        },
    );
    assert!(
        matches!(dup, Err(Error::Unique { model: "Enrollment", ref existing, .. }) if *existing == first)
    );
    let other = s
        .enrollments
        .insert(
            &mut s.db,
            Enrollment {
                student: ada,
                course: art,
                grade: None,
            },
        )
        .unwrap();
    let clash = s.enrollments.update(
        &mut s.db,
        other,
        Enrollment {
            student: ada,
            course: math,
            grade: None,
        },
    );
    assert!(matches!(clash, Err(Error::Unique { .. })));
    assert_eq!(titles(&s, ada), [("math", None), ("art", None)]);
}

#[test]
fn unknown_ids_fail_before_anything_changes() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let a = s.courses.insert(&mut s.db, Course { title: "a" }).unwrap();
    let gone = s
        .courses
        .insert(&mut s.db, Course { title: "gone" })
        .unwrap();
    s.courses.delete(&mut s.db, gone).unwrap();
    assert!(matches!(
        s.takes.add_many(&mut s.db, ada, [a, gone]),
        Err(Error::NotFound {
            model: "Course",
            ..
        })
    ));
    assert!(matches!(
        s.takes.set(&mut s.db, ada, [a, gone]),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.takes.has(&s.db, ada, gone),
        Err(Error::NotFound { .. })
    ));
    assert!(s.enrollments.is_empty(&s.db).unwrap());
}

#[test]
fn junction_keys_must_be_non_null() {
    #[derive(Clone)]
    struct Loose {
        student: Option<Id<Student>>,
        course: Id<Course>,
    }
    let mut db = Db::new();
    let (students, courses) = (
        db.create_table::<Student>().unwrap(),
        db.create_table::<Course>().unwrap(),
    );
    let loose = db.create_table::<Loose>().unwrap();
    let err = db.belongs_to_many(
        students,
        courses,
        loose,
        fk!(Loose, student),
        fk!(Loose, course),
    );
    assert!(matches!(err, Err(Error::Definition { .. })));
}

#[test]
fn junction_rows_are_a_has_many_from_either_side() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let math = s
        .courses
        .insert(&mut s.db, Course { title: "math" })
        .unwrap();
    s.takes
        .add_through(
            &mut s.db,
            ada,
            math,
            Enrollment {
                grade: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    let rows: Vec<_> = s
        .takes
        .junction_rows()
        .get(&s.db, ada)
        .unwrap()
        .map(|e| (e.course, e.grade))
        .collect();
    assert_eq!(rows, [(math, Some(2))]);
    assert_eq!(
        s.takes
            .inverse()
            .junction_rows()
            .count(&s.db, math)
            .unwrap(),
        1
    );
}

#[test]
fn moving_junction_rows_keeps_the_pair_index_and_is_atomic() {
    let mut s = school();
    let ada = s
        .students
        .insert(&mut s.db, Student { name: "ada" })
        .unwrap();
    let bob = s
        .students
        .insert(&mut s.db, Student { name: "bob" })
        .unwrap();
    let [math, art] =
        ["math", "art"].map(|title| s.courses.insert(&mut s.db, Course { title }).unwrap());
    s.takes.add_many(&mut s.db, bob, [math, art]).unwrap();
    s.takes.add(&mut s.db, ada, math).unwrap();
    let bobs: Vec<_> = s
        .takes
        .get(&s.db, bob)
        .unwrap()
        .iter()
        .map(|(_, j)| j.id())
        .collect();
    let (bob_math, bob_art) = (bobs[0], bobs[1]);
    let rows = s.takes.junction_rows();

    // Moving bob's art enrollment to ada is fine and keeps the pair index right...
    assert!(rows.add(&mut s.db, ada, bob_art).unwrap());
    assert!(s.takes.has(&s.db, ada, art).unwrap() && !s.takes.has(&s.db, bob, art).unwrap());
    // ...moving bob's math enrollment too would duplicate (ada, math): refused.
    assert!(matches!(
        rows.add(&mut s.db, ada, bob_math),
        Err(Error::Unique { .. })
    ));

    // In a batch, the first move is fine and the second is not: nothing moves. (Moving ada's
    // math enrollment to bob would duplicate (bob, math).)
    let ada_math = s.takes.get(&s.db, ada).unwrap()[0].1.id();
    let err = rows.add_many(&mut s.db, bob, [bob_art, ada_math]);
    assert!(matches!(err, Err(Error::Unique { .. })), "{err:?}");
    assert!(
        s.takes.has(&s.db, ada, art).unwrap(),
        "the first move was rolled back"
    );
    assert_eq!(s.takes.count(&s.db, bob).unwrap(), 1);
    s.db.check_integrity().unwrap();
}

/// Regression (found by an adversarial test session): a junction row repeating a pair was
/// reported as a unique violation of `Enrollment.course` alone, which is not unique (two
/// students share a course here).
#[test]
fn a_repeated_pair_is_reported_as_the_pair() {
    let (mut s, ada, _bob, math) = two_take_math();
    let again = Enrollment {
        student: ada,
        course: math,
        grade: None,
    };
    let error = s.enrollments.insert(&mut s.db, again).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unique {
                model: "Enrollment",
                field: "(student, course)",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("Enrollment.(student, course) = "),
        "{error}"
    );
    assert!(
        s.db.schema().contains("unique (student, course)"),
        "{}",
        s.db.schema()
    );
    assert_eq!(s.takes.count(&s.db, ada), Ok(1));
}

/// Errors name the side of the many-to-many that was called, after the model it leads to, not
/// the junction model (both sides read `Enrollment` before; found by a spec review).
#[test]
fn errors_name_the_side_of_the_many_to_many_that_was_called() {
    let (mut s, ada, _, math) = two_take_math();
    let gone = s
        .courses
        .insert(&mut s.db, Course { title: "gone" })
        .unwrap();
    s.courses.delete(&mut s.db, gone).unwrap();
    let err = s.takes.add(&mut s.db, ada, gone).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                association: Some("Course through Enrollment"),
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("Course through Enrollment"), "{message}");
    let left = s
        .students
        .insert(&mut s.db, Student { name: "left" })
        .unwrap();
    s.students.delete(&mut s.db, left).unwrap();
    let err = s.takes.inverse().add(&mut s.db, math, left).unwrap_err();
    assert!(
        err.to_string().contains("Student through Enrollment"),
        "{err}"
    );
}

#[derive(Clone, Debug, PartialEq)]
struct User;

#[derive(Clone, Debug, PartialEq, Default)]
struct Follow {
    follower: Id<User>,
    followee: Id<User>,
}

#[test]
fn a_many_to_many_of_a_model_with_itself_names_each_side_after_its_key() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let follows = db.create_table::<Follow>().unwrap();
    let following = db
        .belongs_to_many(
            users,
            users,
            follows,
            fk!(Follow, follower),
            fk!(Follow, followee),
        )
        .unwrap();
    let (a, gone) = (
        users.insert(&mut db, User).unwrap(),
        users.insert(&mut db, User).unwrap(),
    );
    users.delete(&mut db, gone).unwrap();
    let from_follower = following.add(&mut db, a, gone).unwrap_err().to_string();
    let from_followee = following
        .inverse()
        .add(&mut db, a, gone)
        .unwrap_err()
        .to_string();
    assert!(
        from_follower.contains("`User through Follow.followee`"),
        "{from_follower}"
    );
    assert!(
        from_followee.contains("`User through Follow.follower`"),
        "{from_followee}"
    );
    let schema = db.schema();
    assert!(
        schema.contains("assoc User through Follow.followee:"),
        "{schema}"
    );
    assert!(
        schema.contains("assoc User through Follow.follower:"),
        "{schema}"
    );
}

#[derive(Clone, Debug, PartialEq, Default)]
struct Optional {
    student: Option<Id<Student>>,
    course: Id<Course>,
}

#[test]
fn a_nullable_junction_key_is_refused_by_name() {
    let mut db = Db::new();
    let students = db.create_table::<Student>().unwrap();
    let courses = db.create_table::<Course>().unwrap();
    let junction = db.create_table::<Optional>().unwrap();
    let err = db
        .belongs_to_many(
            students,
            courses,
            junction,
            fk!(Optional, student),
            fk!(Optional, course),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Definition { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("Optional.student"), "{message}");
    assert!(!message.contains("Optional.course"), "{message}");
    assert!(db.schema().lines().all(|l| !l.starts_with("assoc")));
}

mod a {
    #[derive(Clone, Debug, PartialEq, Default)]
    pub struct Membership {
        pub student: relata::Id<super::Student>,
        pub course: relata::Id<super::Course>,
    }
}

mod b {
    #[derive(Clone, Debug, PartialEq, Default)]
    pub struct Membership {
        pub student: relata::Id<super::Student>,
        pub course: relata::Id<super::Course>,
    }
}

// Found by a review: the check that refuses a name given twice from one model refused the
// names relata builds for two many-to-manys whose junctions share a short name, which the
// user cannot rename.
#[test]
fn two_many_to_manys_through_junctions_of_one_short_name_declare() {
    let mut db = Db::new();
    let students = db.create_table::<Student>().unwrap();
    let courses = db.create_table::<Course>().unwrap();
    let first = db.create_table::<a::Membership>().unwrap();
    let second = db.create_table::<b::Membership>().unwrap();
    let one = db
        .belongs_to_many(
            students,
            courses,
            first,
            fk!(a::Membership, student),
            fk!(a::Membership, course),
        )
        .unwrap();
    let other = db
        .belongs_to_many(
            students,
            courses,
            second,
            fk!(b::Membership, student),
            fk!(b::Membership, course),
        )
        .unwrap();
    let s = students.insert(&mut db, Student { name: "ada" }).unwrap();
    let c = courses.insert(&mut db, Course { title: "math" }).unwrap();
    one.add(&mut db, s, c).unwrap();
    assert!(one.has(&db, s, c).unwrap() && !other.has(&db, s, c).unwrap());
}

/// `through` reads one pair's junction row, from either side: `None` for an unlinked pair
/// (also after `remove`), the payload `add_through` last gave it, `NotFound` for a stale id.
#[test]
fn through_reads_one_pairs_junction_row_from_either_side() {
    let (mut s, ada, bob, math) = two_take_math();
    let art = s
        .courses
        .insert(&mut s.db, Course { title: "art" })
        .unwrap();
    let graded = Enrollment {
        grade: Some(4),
        ..Enrollment::default()
    };
    s.takes.add_through(&mut s.db, ada, math, graded).unwrap();
    let row = s.takes.through(&s.db, ada, math).unwrap().unwrap();
    assert_eq!((row.student, row.course, row.grade), (ada, math, Some(4)));
    assert_eq!(s.enrollments.get(&s.db, row.id()).unwrap().grade, Some(4));
    let seen_from_math = s.takes.inverse().through(&s.db, math, ada).unwrap();
    assert_eq!(seen_from_math.map(|r| r.id()), Some(row.id()));
    assert_eq!(
        s.takes.through(&s.db, bob, math).unwrap().unwrap().grade,
        None
    );
    assert!(s.takes.through(&s.db, ada, art).unwrap().is_none());

    s.takes.remove(&mut s.db, ada, math).unwrap();
    assert!(s.takes.through(&s.db, ada, math).unwrap().is_none());
    s.courses.delete(&mut s.db, art).unwrap();
    assert!(matches!(
        s.takes.through(&s.db, ada, art),
        Err(Error::NotFound { .. })
    ));
}
