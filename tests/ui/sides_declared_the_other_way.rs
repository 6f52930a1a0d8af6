use relata::{BelongsTo, BelongsToMany, HasMany, HasOne, Id, Schema, Table};

#[derive(Clone)]
struct User;

#[derive(Clone)]
struct Profile {
    user: Option<Id<User>>,
}

#[derive(Clone, Default)]
struct Follow {
    follower: Id<User>,
    followee: Id<User>,
}

// The belongs-to before its has-one, the junction's has-many before its many-to-many, and a
// side of a many-to-many of a model with itself that does not say which key it follows.
#[derive(Schema)]
struct Social {
    users: Table<User>,
    profiles: Table<Profile>,
    follows: Table<Follow>,
    #[belongs_to(key = user)]
    profile_user: BelongsTo<Profile, User>,
    #[has_one(key = user)]
    user_profile: HasOne<User, Profile>,
    #[has_many(key = follower)]
    made: HasMany<User, Follow>,
    #[belongs_to_many(key = follower, other_key = followee)]
    following: BelongsToMany<User, User, Follow>,
    #[has_many(junction_of = following)]
    received: HasMany<User, Follow>,
}

fn main() {}
