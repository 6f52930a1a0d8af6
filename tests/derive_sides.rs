//! `#[derive(Schema)]` with both sides of an association declared, as Sequelize users write
//! them (`hasMany` and `belongsTo`): `inverse_of` and `junction_of` fields are the other side
//! of an association another field declares, and `#[belongs_to]`'s `name` names the
//! belongs-to side (Sequelize's `as`).
#![cfg(feature = "derive")]

use relata::{BelongsTo, BelongsToMany, Db, Error, HasMany, HasOne, Id, Model, Schema, Table};

/// The ids of `source`'s children, in order.
fn ids<S: Model, T: Model>(db: &Db, link: HasMany<S, T>, source: Id<S>) -> Vec<Id<T>> {
    link.get(db, source).unwrap().map(|r| r.id()).collect()
}

#[derive(Clone, Debug, PartialEq)]
struct Post {
    title: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
struct Comment {
    post: Option<Id<Post>>,
}

#[derive(Clone, Debug, PartialEq)]
struct User {
    name: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
struct Profile {
    user: Option<Id<User>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Project {
    lead: Option<Id<User>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Student;

#[derive(Clone, Debug, PartialEq)]
struct Course;

#[derive(Clone, Debug, PartialEq, Default)]
struct Enrollment {
    student: Id<Student>,
    course: Id<Course>,
    grade: u8,
}

#[derive(Schema, Clone, Copy)]
struct School {
    posts: Table<Post>,
    comments: Table<Comment>,
    users: Table<User>,
    profiles: Table<Profile>,
    projects: Table<Project>,
    students: Table<Student>,
    courses: Table<Course>,
    enrollments: Table<Enrollment>,
    #[has_many(key = post, on_delete = Cascade)]
    post_comments: HasMany<Post, Comment>,
    #[belongs_to(inverse_of = post_comments)]
    comment_post: BelongsTo<Comment, Post>,
    #[has_one(key = user)]
    user_profile: HasOne<User, Profile>,
    #[belongs_to(inverse_of = user_profile)]
    profile_user: BelongsTo<Profile, User>,
    #[belongs_to(key = lead, name = "lead", inverse = "ledProjects", on_delete = Restrict)]
    project_lead: BelongsTo<Project, User>,
    #[has_many(inverse_of = project_lead)]
    led_projects: HasMany<User, Project>,
    #[belongs_to_many(key = student, other_key = course)]
    takes: BelongsToMany<Student, Course, Enrollment>,
    #[has_many(junction_of = takes)]
    student_enrollments: HasMany<Student, Enrollment>,
    #[has_many(junction_of = takes)]
    course_enrollments: HasMany<Course, Enrollment>,
    #[belongs_to(junction_of = takes)]
    enrollment_student: BelongsTo<Enrollment, Student>,
    #[belongs_to(junction_of = takes)]
    enrollment_course: BelongsTo<Enrollment, Course>,
}

/// The same schema with one field per association: the sides declare nothing more.
#[derive(Schema, Clone, Copy)]
struct OneSideEach {
    posts: Table<Post>,
    comments: Table<Comment>,
    users: Table<User>,
    profiles: Table<Profile>,
    projects: Table<Project>,
    students: Table<Student>,
    courses: Table<Course>,
    enrollments: Table<Enrollment>,
    #[has_many(key = post, on_delete = Cascade)]
    post_comments: HasMany<Post, Comment>,
    #[has_one(key = user)]
    user_profile: HasOne<User, Profile>,
    #[belongs_to(key = lead, name = "lead", inverse = "ledProjects", on_delete = Restrict)]
    project_lead: BelongsTo<Project, User>,
    #[belongs_to_many(key = student, other_key = course)]
    takes: BelongsToMany<Student, Course, Enrollment>,
}

#[test]
fn the_sides_declare_nothing_more() {
    let (both, _) = School::new().unwrap();
    let (one, _) = OneSideEach::new().unwrap();
    assert_eq!(both.schema(), one.schema());
}

#[test]
fn each_side_is_the_other_side_of_its_association() {
    let (mut db, s) = School::new().unwrap();
    let p = s.posts.insert(&mut db, Post { title: "hello" }).unwrap();
    let c = s.comments.insert(&mut db, Comment { post: None }).unwrap();
    s.comment_post.set(&mut db, c, Some(p)).unwrap();
    assert_eq!(ids(&db, s.post_comments, p), [c]);
    assert_eq!(s.comment_post.get(&db, c).unwrap().unwrap().title, "hello");

    let u = s.users.insert(&mut db, User { name: "ada" }).unwrap();
    let profile = s
        .user_profile
        .create(&mut db, u, Profile { user: None })
        .unwrap();
    assert_eq!(
        s.profile_user.get(&db, profile).unwrap().unwrap().name,
        "ada"
    );

    let project = s.projects.insert(&mut db, Project { lead: None }).unwrap();
    s.led_projects.add(&mut db, u, project).unwrap();
    assert_eq!(
        s.project_lead.get(&db, project).unwrap().unwrap().name,
        "ada"
    );

    let (st, co) = (
        s.students.insert(&mut db, Student).unwrap(),
        s.courses.insert(&mut db, Course).unwrap(),
    );
    s.takes.add(&mut db, st, co).unwrap();
    let [e] = ids(&db, s.student_enrollments, st)[..] else {
        panic!("one enrollment")
    };
    assert_eq!(ids(&db, s.course_enrollments, co), [e]);
    assert!(s.enrollment_student.get(&db, e).unwrap().is_some());
    assert!(s.enrollment_course.get(&db, e).unwrap().is_some());

    // Cascade, declared on `post_comments`, applies through its side too.
    s.posts.delete(&mut db, p).unwrap();
    assert!(!s.comments.contains(&db, c).unwrap());
    db.check_integrity().unwrap();
}

#[test]
fn a_belongs_to_name_names_the_belongs_to_side_as_sequelize_as_does() {
    let (mut db, s) = School::new().unwrap();
    let u = s.users.insert(&mut db, User { name: "ada" }).unwrap();
    let project = s.projects.insert(&mut db, Project { lead: None }).unwrap();
    s.project_lead.set(&mut db, project, Some(u)).unwrap();
    // The has-many side is `inverse`: what restricts the user's delete.
    match s.users.delete(&mut db, u) {
        Err(Error::Restricted { association, .. }) => assert_eq!(association, "ledProjects"),
        other => panic!("{other:?}"),
    }
    assert!(
        db.schema().contains("assoc ledProjects:"),
        "{}",
        db.schema()
    );
    // The belongs-to side is `name`: what its own errors say.
    let gone = s.users.insert(&mut db, User { name: "bob" }).unwrap();
    s.users.delete(&mut db, gone).unwrap();
    let err = s
        .project_lead
        .set(&mut db, project, Some(gone))
        .unwrap_err();
    assert!(err.to_string().contains("`lead`"), "{err}");
}

#[derive(Clone, Debug, PartialEq)]
struct Member;

#[derive(Clone, Debug, PartialEq, Default)]
struct Follow {
    follower: Id<Member>,
    followee: Id<Member>,
}

#[derive(Schema, Clone, Copy)]
struct Social {
    members: Table<Member>,
    follows: Table<Follow>,
    #[belongs_to_many(key = follower, other_key = followee)]
    following: BelongsToMany<Member, Member, Follow>,
    #[has_many(junction_of = following, key = follower)]
    made: HasMany<Member, Follow>,
    #[has_many(junction_of = following, key = followee)]
    received: HasMany<Member, Follow>,
    #[belongs_to(junction_of = following, key = followee)]
    follow_followee: BelongsTo<Follow, Member>,
}

// Found by a review: with a model linked to itself, `junction_of` could not tell the two
// junction keys apart and gave the follower side for both.
#[test]
fn the_junction_sides_of_a_model_linked_to_itself_follow_the_key_they_name() {
    let (mut db, s) = Social::new().unwrap();
    let (ada, bob) = (
        s.members.insert(&mut db, Member).unwrap(),
        s.members.insert(&mut db, Member).unwrap(),
    );
    s.following.add(&mut db, ada, bob).unwrap();
    let [f] = ids(&db, s.made, ada)[..] else {
        panic!("ada made one follow")
    };
    assert!(ids(&db, s.made, bob).is_empty());
    assert_eq!(ids(&db, s.received, bob), [f]);
    assert!(ids(&db, s.received, ada).is_empty());
    assert_eq!(s.follow_followee.get(&db, f).unwrap().unwrap().id(), bob);
}
