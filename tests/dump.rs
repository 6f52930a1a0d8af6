//! The readable dump (#13): tables, rows in creation order, the keys they hold.

use relata::{AssocOptions, Db, Id, field, fk};

#[derive(Clone, Debug)]
struct Student {
    name: &'static str,
}

#[derive(Clone, Debug)]
struct Course {
    code: String,
}

#[derive(Clone, Debug, Default)]
struct Enrolment {
    student: Id<Student>,
    course: Id<Course>,
}

#[derive(Clone, Debug)]
struct Review {
    course_code: Option<String>,
    stars: u8,
}

#[test]
fn the_dump_lists_every_table_row_and_key() {
    let mut db = Db::new();
    let students = db.create_table::<Student>().unwrap();
    let courses = db.create_table::<Course>().unwrap();
    let enrolments = db.create_table::<Enrolment>().unwrap();
    let reviews = db.create_table::<Review>().unwrap();
    let codes = db.unique(courses, field!(Course, code)).unwrap();
    let taking = db
        .belongs_to_many(
            students,
            courses,
            enrolments,
            fk!(Enrolment, student),
            fk!(Enrolment, course),
        )
        .unwrap();
    let course_reviews = db
        .has_many_by(
            codes,
            reviews,
            fk!(Review, course_code),
            AssocOptions::new(),
        )
        .unwrap();
    let ada = students.insert(&mut db, Student { name: "ada" }).unwrap();
    let bob = students.insert(&mut db, Student { name: "bob" }).unwrap();
    let math = taking
        .create(&mut db, ada, Course { code: "M1".into() })
        .unwrap();
    taking.add(&mut db, bob, math).unwrap();
    course_reviews
        .create(
            &mut db,
            math,
            Review {
                course_code: None,
                stars: 5,
            },
        )
        .unwrap();
    reviews
        .insert(
            &mut db,
            Review {
                course_code: None,
                stars: 1,
            },
        )
        .unwrap();
    students.delete(&mut db, ada).unwrap();
    assert_eq!(students.get(&db, bob).unwrap().name, "bob");
    let stars: u8 = reviews.scan(&db).unwrap().map(|r| r.stars).sum();
    assert_eq!(stars, 6);

    let dump = db.dump().rows(students).to_string();
    assert_eq!(
        dump,
        "Student: 1 row\n\
         \x20 Student#2  Student { name: \"bob\" }\n\
         Course: 1 row\n\
         \x20 Course#1\n\
         Enrolment: 1 row\n\
         \x20 Enrolment#2  student=Student#2  course=Course#1\n\
         Review: 2 rows\n\
         \x20 Review#1  course_code=\"M1\"\n\
         \x20 Review#2  course_code=null\n"
    );
}

#[test]
fn a_handle_of_another_database_adds_no_rows() {
    let mut other = Db::new();
    let foreign = other.create_table::<Student>().unwrap();
    let mut db = Db::new();
    let students = db.create_table::<Student>().unwrap();
    students.insert(&mut db, Student { name: "ada" }).unwrap();
    let _ = foreign;
    assert_eq!(
        db.dump().rows(foreign).to_string(),
        "Student: 1 row\n  Student#1\n"
    );
    assert_eq!(Db::new().dump().to_string(), "");
}
