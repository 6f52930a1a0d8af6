use relata::{BelongsTo, BelongsToMany, HasMany, Id, Schema, Table};

#[derive(Clone)]
struct Post {
    title: String,
}

#[derive(Clone)]
struct Comment {
    post: Option<Id<Post>>,
}

#[derive(Clone)]
struct Student;

#[derive(Clone)]
struct Course;

#[derive(Clone)]
struct Enrollment {
    student: Id<Student>,
    course: Id<Course>,
}

// Both sides declared, as in Sequelize (`hasMany` and `belongsTo`): the second must say how.
#[derive(Schema)]
struct Blog {
    posts: Table<Post>,
    comments: Table<Comment>,
    students: Table<Student>,
    courses: Table<Course>,
    enrollments: Table<Enrollment>,
    #[has_many(key = post)]
    post_comments: HasMany<Post, Comment>,
    #[belongs_to(key = post)]
    comment_post: BelongsTo<Comment, Post>,
    #[belongs_to_many(key = student, other_key = course)]
    takes: BelongsToMany<Student, Course, Enrollment>,
    #[belongs_to(key = student)]
    enrollment_student: BelongsTo<Enrollment, Student>,
}

fn main() {}
