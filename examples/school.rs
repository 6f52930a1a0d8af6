//! Students, courses and enrollments with a grade payload (BelongsToMany), lockers (HasOne), a
//! department whose deletion cascades through courses to enrollments, and a Restrict that blocks
//! a delete until its blocker is gone — each step printing what it returns.
//!
//! This example declares its schema with the plain API, without `#[derive(Schema)]`: the calls
//! the derive expands to (`create_table`, `has_many_with`, `belongs_to_many`, ...), for code that
//! builds a schema at run time or prefers no macros.
//!
//! Run with `cargo run --example school`.

use relata::{AssocOptions, Db, Id, OnDelete, Unlink, fk};

#[derive(Clone, Debug)]
struct Department {
    name: &'static str,
}

#[derive(Clone, Debug)]
struct Course {
    department: Id<Department>,
    title: &'static str,
}

#[derive(Clone, Debug)]
struct Student {
    name: &'static str,
}

/// The junction row, with its payload. `Default` serves payload-less `add`/`set`/`create`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Enrollment {
    student: Id<Student>,
    course: Id<Course>,
    grade: Option<u8>,
}

#[derive(Clone, Debug)]
struct Locker {
    student: Option<Id<Student>>,
    number: u32,
}

/// A head of department: the department cannot be deleted while it has one.
#[derive(Clone, Debug)]
struct Head {
    department: Id<Department>,
    name: &'static str,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut db = Db::new();
    let departments = db.create_table::<Department>()?;
    let courses = db.create_table::<Course>()?;
    let students = db.create_table::<Student>()?;
    let enrollments = db.create_table::<Enrollment>()?;
    let lockers = db.create_table::<Locker>()?;
    let heads = db.create_table::<Head>()?;

    // Department -> Course: non-null key, so on delete Cascade by default.
    let offers = db.has_many_with(
        departments,
        courses,
        fk!(Course, department),
        AssocOptions::new().name("courses").inverse("department"),
    )?;
    let takes = db.belongs_to_many(
        students,
        courses,
        enrollments,
        fk!(Enrollment, student),
        fk!(Enrollment, course),
    )?;
    let locker = db.has_one(students, lockers, fk!(Locker, student))?;
    let head = db.has_one_with(
        departments,
        heads,
        fk!(Head, department),
        AssocOptions::new()
            .name("head")
            .on_delete(OnDelete::Restrict),
    )?;

    let science = departments.insert(&mut db, Department { name: "Science" })?;
    let arts = departments.insert(&mut db, Department { name: "Arts" })?;
    let physics = offers.create(
        &mut db,
        science,
        Course {
            department: science,
            title: "Physics",
        },
    )?;
    let chemistry = offers.create(
        &mut db,
        science,
        Course {
            department: science,
            title: "Chemistry",
        },
    )?;
    let painting = offers.create(
        &mut db,
        arts,
        Course {
            department: arts,
            title: "Painting",
        },
    )?;
    let [ada, bob, cyd] =
        ["Ada", "Bob", "Cyd"].map(|name| students.insert(&mut db, Student { name }));
    let (ada, bob, cyd) = (ada?, bob?, cyd?);
    println!(
        "departments {science}, {arts}; courses {physics}, {chemistry}, {painting}; students {ada}, {bob}, {cyd}"
    );

    // Enrollments, with and without a grade.
    println!(
        "takes.add(ada, physics) -> {}",
        takes.add(&mut db, ada, physics)?
    );
    println!(
        "takes.add(ada, physics) again -> {} (a pair appears once)",
        takes.add(&mut db, ada, physics)?
    );
    let graded = |student, course, grade| Enrollment {
        student,
        course,
        grade: Some(grade),
    };
    println!(
        "takes.add_through(ada, physics, grade 5) -> {} (payload updated)",
        takes.add_through(&mut db, ada, physics, graded(ada, physics, 5))?
    );
    println!(
        "takes.add_many(bob, [physics, chemistry, painting]) -> {}",
        takes.add_many(&mut db, bob, [physics, chemistry, painting])?
    );
    println!(
        "takes.set(cyd, [chemistry, painting]) -> {}",
        takes.set(&mut db, cyd, [chemistry, painting])?
    );
    let changed = takes.set_through(
        &mut db,
        cyd,
        [
            (chemistry, graded(cyd, chemistry, 4)),
            (painting, Enrollment::default()),
        ],
    )?;
    println!("takes.set_through(cyd, chemistry graded 4, painting) -> {changed} pair(s) changed");
    for student in [ada, bob, cyd] {
        let name = students.get(&db, student)?.name;
        let list: Vec<String> = takes
            .get(&db, student)?
            .iter()
            .map(|(course, e)| {
                format!(
                    "{} ({})",
                    course.title,
                    e.grade.map_or("-".into(), |g| g.to_string())
                )
            })
            .collect();
        println!("  {name} takes {}", list.join(", "));
    }
    println!("takes.count(bob) -> {}", takes.count(&db, bob)?);
    println!(
        "takes.has_all(bob, [physics, painting]) -> {}",
        takes.has_all(&db, bob, [physics, painting])?
    );
    println!(
        "takes.inverse().count(physics) -> {} students",
        takes.inverse().count(&db, physics)?
    );
    println!(
        "takes.remove(bob, painting) -> {}",
        takes.remove(&mut db, bob, painting)?
    );
    let sculpture = takes.create(
        &mut db,
        ada,
        Course {
            department: arts,
            title: "Sculpture",
        },
    )?;
    println!("takes.create(ada, Sculpture) -> {sculpture}");

    // A duplicate pair is refused even when written through the junction table itself.
    match enrollments.insert(&mut db, graded(ada, physics, 1)) {
        Err(e) => println!("enrollments.insert(duplicate pair) -> error: {e}"),
        Ok(id) => println!("enrollments.insert(duplicate pair) -> {id}?!"),
    }

    // HasOne: a student has one locker; create replaces it (the old one is unlinked).
    let first = locker.create(
        &mut db,
        ada,
        Locker {
            student: None,
            number: 7,
        },
    )?;
    let second = locker.create(
        &mut db,
        ada,
        Locker {
            student: None,
            number: 12,
        },
    )?;
    println!(
        "locker.create twice -> {first}, {second}; ada's locker is now #{}",
        locker.get(&db, ada)?.map_or(0, |l| l.number)
    );
    println!("{first}.student -> {:?}", lockers.get(&db, first)?.student);
    match lockers.insert(
        &mut db,
        Locker {
            student: Some(ada),
            number: 99,
        },
    ) {
        Err(e) => println!("lockers.insert(second locker for ada) -> error: {e}"),
        Ok(id) => println!("lockers.insert -> {id}?!"),
    }
    locker.set_with(&mut db, ada, None, Some(Unlink::Delete))?;
    println!(
        "locker.set_with(ada, None, Delete) -> {second} exists: {}",
        lockers.contains(&db, second)?
    );

    // Restrict: Science has a head, so deleting it is refused and nothing changes.
    let dean = head.create(
        &mut db,
        science,
        Head {
            department: science,
            name: "Dr. Who",
        },
    )?;
    let before = enrollments.len(&db)?;
    match departments.delete(&mut db, science) {
        Err(e) => println!("delete(Science) -> error: {e}"),
        Ok(d) => println!("delete(Science) -> {}?!", d.report),
    }
    println!(
        "enrollments before {before}, after {}: unchanged",
        enrollments.len(&db)?
    );

    // Remove the blocker; now the delete cascades: Science -> its courses -> their enrollments.
    println!(
        "heads.delete({dean}) -> {}",
        heads.delete(&mut db, dean)?.row.name
    );
    let deleted = departments.delete(&mut db, science)?;
    println!(
        "delete(Science) -> {}: {}",
        deleted.row.name, deleted.report
    );
    println!(
        "  blast radius: {} rows deleted, {} keys nulled",
        deleted.report.total_deleted(),
        deleted.report.total_nulled()
    );
    for student in [ada, bob, cyd] {
        println!(
            "  {} now takes {} course(s)",
            students.get(&db, student)?.name,
            takes.count(&db, student)?
        );
    }

    db.check_integrity()?;
    println!("integrity check passed");
    Ok(())
}
