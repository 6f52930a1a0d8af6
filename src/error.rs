//! The one error type of relata.

use std::fmt;

/// A specialised `Result` whose error is relata's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in relata.
///
/// After any error the database is exactly as it was before the call that returned it. Every
/// variant names the model and, where there is one, the field, the row (as `Model#seq`) and the
/// association, and its message says what to do about it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An id argument names no live row: it was never issued here, or its row has been deleted.
    NotFound {
        /// The model the id belongs to.
        model: &'static str,
        /// The id, as `Model#seq`.
        id: String,
    },
    /// The operation would store null in a foreign key whose type is not an `Option`.
    Validation {
        /// The model holding the foreign key.
        model: &'static str,
        /// The foreign-key field.
        field: &'static str,
        /// The row that would have been changed.
        row: String,
        /// The association whose method was called.
        association: &'static str,
    },
    /// A foreign-key value written in row data references no row of the source model.
    ForeignKey {
        /// The model holding the foreign key.
        model: &'static str,
        /// The foreign-key field.
        field: &'static str,
        /// The row being written, or `None` for a row being inserted.
        row: Option<String>,
        /// The model the key should reference.
        references: &'static str,
        /// The dangling key value.
        key: String,
    },
    /// A value that must be unique is already taken by another row.
    Unique {
        /// The model of the unique attribute or foreign key.
        model: &'static str,
        /// The unique field.
        field: &'static str,
        /// The duplicated value.
        key: String,
        /// The row that already holds it.
        existing: String,
    },
    /// A delete or key change was blocked by a `Restrict` referential action.
    Restricted {
        /// The row whose delete or update was blocked.
        row: String,
        /// The association whose action blocked it.
        association: &'static str,
        /// The child row still referencing it.
        blocking_row: String,
    },
    /// A call contradicts itself: the cascade it triggers would delete a row the same call needs
    /// (for example `set` with the delete policy, on a cyclic self-reference).
    Conflict {
        /// The row that would be deleted.
        row: String,
        /// The association whose method was called.
        association: &'static str,
    },
    /// A handle (table, association, unique key) was used with a database that did not declare it.
    UnknownHandle {
        /// What kind of handle, and of which model.
        handle: String,
    },
    /// A schema declaration is invalid (for example `SetNull` on a non-null foreign key).
    Definition {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A table ran out of row slots (more than `u32::MAX` rows alive at once).
    Capacity {
        /// The model whose table is full.
        model: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { model, id } => write!(
                f,
                "{id} not found: the id names no live row of {model} (deleted, or never issued by this database)"
            ),
            Error::Validation {
                model,
                field,
                row,
                association,
            } => write!(
                f,
                "validation error on association `{association}`: {model}.{field} of {row} cannot be null; \
                 link {row} to another row instead, or use the delete unlink policy to delete it"
            ),
            Error::ForeignKey {
                model,
                field,
                row,
                references,
                key,
            } => {
                let row = row.as_deref().unwrap_or("the new row");
                write!(
                    f,
                    "foreign-key error: {model}.{field} of {row} references {references} {key}, which does not exist; \
                     insert that {references} first or point the key at an existing one"
                )
            }
            Error::Unique {
                model,
                field,
                key,
                existing,
            } => write!(
                f,
                "unique error: {model}.{field} = {key} is already held by {existing}; \
                 choose another value or change {existing} first"
            ),
            Error::Restricted {
                row,
                association,
                blocking_row,
            } => write!(
                f,
                "{row} is still referenced by {blocking_row} through association `{association}`, whose action is Restrict; \
                 unlink or delete {blocking_row} first"
            ),
            Error::Conflict { row, association } => write!(
                f,
                "conflict on association `{association}`: the call needs {row}, but the cascade it triggers would delete it; \
                 split the call in two"
            ),
            Error::UnknownHandle { handle } => write!(
                f,
                "{handle} was not declared on this database (or on a database it was forked from)"
            ),
            Error::Definition { message } => write!(f, "invalid definition: {message}"),
            Error::Capacity { model } => {
                write!(
                    f,
                    "table {model} is full: it cannot hold more than u32::MAX rows at once"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_model_field_row_and_association() {
        let e = Error::Validation {
            model: "Comment",
            field: "post",
            row: "Comment#3".into(),
            association: "comments",
        };
        let msg = e.to_string();
        for part in ["Comment.post", "Comment#3", "`comments`", "cannot be null"] {
            assert!(msg.contains(part), "{msg:?} lacks {part:?}");
        }
        let e = Error::ForeignKey {
            model: "Comment",
            field: "post",
            row: None,
            references: "Post",
            key: "Post#9".into(),
        };
        assert!(e.to_string().contains("references Post Post#9"));
    }

    #[test]
    fn error_is_send_sync_and_std_error() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
    }
}
