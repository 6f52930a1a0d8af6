//! The one error type of relata, and the report of a failed integrity check.

use std::fmt;

use crate::id::RowRef;

/// A specialised `Result` whose error is relata's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which argument of a call named a row that does not exist. Roles are those of the association
/// whose method was called, as in Sequelize: for `Post.hasMany(Comment)` the post is the source;
/// for `Comment.belongsTo(Post)` the comment is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Argument {
    /// The row argument of a table method (`get`, `update`, `delete`…).
    Row,
    /// The source row of an association method: the post of `post_comments.add(post, c)`, the
    /// comment of `comment_post.set(comment, Some(p))`.
    Source,
    /// A target row of an association method: the comment of `post_comments.add(p, comment)`,
    /// the post of `comment_post.set(c, Some(post))`.
    Target,
}

/// Which change a referential action blocked.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Deleting the row.
    Delete,
    /// Changing its source key (an attribute other rows reference).
    Update,
    /// Removing it, or the name other rows reference it by, by applying a change set: applying
    /// runs no referential action, so rows the change set leaves in place must not reference
    /// it.
    Apply,
}

/// Everything that can go wrong in relata.
///
/// After any error the database is exactly as it was before the call that returned it. Each
/// variant names what it is about (the model, the field, the row as `Model#seq`, the
/// association), and its message says what to do about it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An id argument names no live row: it was never issued by this database (or one it was
    /// forked from), or its row has been deleted.
    NotFound {
        /// The model the id belongs to.
        model: &'static str,
        /// The id.
        id: RowRef,
        /// Which argument it was.
        argument: Argument,
        /// The association whose method was called, if one was.
        association: Option<&'static str>,
    },
    /// The operation would store null in a foreign key whose type is not an `Option`.
    Validation {
        /// The model holding the foreign key.
        model: &'static str,
        /// The foreign-key field.
        field: &'static str,
        /// The row that would have been changed.
        row: RowRef,
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
        row: Option<RowRef>,
        /// The model the key should reference.
        references: &'static str,
        /// The dangling key value.
        key: String,
    },
    /// A value that must be unique is already taken by another row.
    Unique {
        /// The model of the unique attribute or foreign key.
        model: &'static str,
        /// The unique field (or the name of the unique index).
        field: &'static str,
        /// The duplicated value.
        key: String,
        /// The row that already holds it.
        existing: RowRef,
    },
    /// A delete or key change was blocked by a `Restrict` (or `NoAction`) referential action.
    Restricted {
        /// The row whose delete or update was blocked.
        row: RowRef,
        /// The association whose action blocked it.
        association: &'static str,
        /// The row still referencing it.
        blocking_row: RowRef,
        /// What was blocked.
        change: Change,
    },
    /// A call contradicts itself: the cascade it triggers would delete a row the same call needs
    /// (for example `set` with the delete policy, when a kept row cascades from a deleted one).
    Conflict {
        /// The row that would be deleted.
        row: RowRef,
        /// The association whose method was called.
        association: &'static str,
    },
    /// A handle (table, association, index) was used with a database that did not declare it.
    UnknownHandle {
        /// What kind of handle, and of which model.
        handle: String,
    },
    /// A schema declaration is invalid (for example `SetNull` on a non-null foreign key).
    Definition {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A table ran out of row slots (more than `u32::MAX` rows alive at once), or the process ran
    /// out of table declarations (`u32::MAX`).
    Capacity {
        /// The model whose table is full.
        model: &'static str,
    },
    /// A change set does not fit the database it is applied to: the database does not hold the
    /// state the change set starts from (a row it changes or deletes is not there, or a slot it
    /// fills is taken).
    Mismatch {
        /// The first row that does not fit.
        row: RowRef,
    },
    /// A [`SharedDb`](crate::SharedDb) method was called from inside `read` or `write` on the same
    /// database and thread, where it would wait forever for itself.
    Reentrant {
        /// The method called (`"write"`).
        method: &'static str,
    },
    /// Saving or loading an [`Archive`](crate::Archive) failed. A failed load loads nothing: the
    /// database is as it was; a failed [`save_file`](crate::Archive::save_file) leaves the
    /// previous file as it was.
    Archive {
        /// What went wrong.
        problem: ArchiveProblem,
    },
}

/// What went wrong saving or loading an [`Archive`](crate::Archive) ([`Error::Archive`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveProblem {
    /// The input is not a relata archive in the expected format: truncated, corrupted, or
    /// something else entirely. `message` is the format's own (for JSON: what it expected and
    /// at which line and column).
    Format {
        /// What the format reported.
        message: String,
    },
    /// The archive was written by a version of relata's archive format this one does not read.
    Version {
        /// The archive's format version.
        found: u32,
        /// The newest version this relata reads (and the one it writes).
        supported: u32,
    },
    /// The archive was saved from a database declared with another schema.
    Schema {
        /// The first line of the archive's schema description that differs (`None`: the
        /// archive's ends there).
        archive: Option<String>,
        /// The database's line at the same place (`None`: the database's ends there).
        database: Option<String>,
    },
    /// The database has a table of `model` that the [`Archive`](crate::Archive) was not told
    /// about, so its rows cannot be saved or loaded.
    Unregistered {
        /// The table's model.
        model: &'static str,
    },
    /// The rows of `model` in the archive do not make a table: a slot or a creation number
    /// appears twice, or ids do not fit the counters saved with them.
    Rows {
        /// The table's model.
        model: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The rows break a constraint of the schema: a foreign key dangles (`Error::ForeignKey`),
    /// a unique value is taken twice (`Error::Unique`).
    Constraint(Box<Error>),
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: String,
        /// What relata was doing, as the message puts it: `"create"`, `"write"` or `"sync"` (the
        /// temporary file a save writes), `"rename a temporary file over"` (the saved path),
        /// `"sync the directory"`, or `"read"`.
        operation: &'static str,
        /// The operating system's message.
        message: String,
    },
}

impl fmt::Display for ArchiveProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveProblem::Format { message } => write!(
                f,
                "the input is not a readable relata archive ({message}); it may be truncated or \
                 corrupted: load a complete archive written by `Archive::save`"
            ),
            ArchiveProblem::Version { found, supported } => write!(
                f,
                "the archive has format version {found}, but this relata reads versions up to \
                 {supported}; load it with the relata version that wrote it"
            ),
            ArchiveProblem::Schema { archive, database } => {
                let show = |line: &Option<String>| {
                    line.as_ref()
                        .map_or_else(|| "nothing".to_string(), |l| format!("`{}`", l.trim()))
                };
                write!(
                    f,
                    "the archive was saved with another schema: where it has {}, this database has {}; \
                     declare the same tables, indexes and associations in the same order before loading",
                    show(archive),
                    show(database)
                )
            }
            ArchiveProblem::Unregistered { model } => write!(
                f,
                "the database has a table of {model} that the archive does not know; \
                 add `.table::<{model}>()` to the Archive"
            ),
            ArchiveProblem::Rows { model, message } => {
                write!(f, "the archive's {model} rows are inconsistent: {message}")
            }
            ArchiveProblem::Constraint(error) => {
                write!(
                    f,
                    "the archive's rows break the schema (the rows named are the archive's, and \
                     nothing was loaded: correct the archive, or declare the schema it was saved \
                     with): {error}"
                )
            }
            ArchiveProblem::Io {
                path,
                operation,
                message,
            } => write!(f, "could not {operation} {path}: {message}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound {
                model,
                id,
                argument,
                association,
            } => {
                write!(f, "{id} not found: ")?;
                match (argument, association) {
                    (Argument::Source, Some(a)) => write!(f, "the source of association `{a}` ")?,
                    (Argument::Target, Some(a)) => write!(f, "the target of association `{a}` ")?,
                    _ => {}
                }
                write!(
                    f,
                    "names no live row of {model} in this database (deleted, or an id of another \
                     database or of a fork this one did not come from); pass the id of an \
                     existing row"
                )
            }
            Error::Validation {
                model,
                field,
                row,
                association,
            } => write!(
                f,
                "validation error on association `{association}`: {model}.{field} of {row} cannot be null \
                 here (its type is not an `Option`, or the unlink policy is `Reject`); link {row} to \
                 another row instead, or delete it: declare the association with \
                 `AssocOptions::unlink(Unlink::Delete)` (`unlink = Delete` with the derive), or pass \
                 `Some(Unlink::Delete)` to `set_with` or `remove_many_with`"
            ),
            Error::ForeignKey {
                model,
                field,
                row,
                references,
                key,
            } => {
                let row = row.map_or_else(|| "the new row".to_string(), |r| r.to_string());
                // An id names its model already (`Post#9`); a key value does not (`Team "red"`).
                // An id shows only its creation number, so `Post#9` may be a live row's
                // number in this database while the id came from another.
                let (target, why) = if key.starts_with(&format!("{references}#")) {
                    let why = " in this database (deleted, or an id of another database or \
                               of a fork this one did not come from)";
                    (key.clone(), why)
                } else {
                    (format!("{references} {key}"), "")
                };
                write!(
                    f,
                    "foreign-key error: {model}.{field} of {row} references {target}, which does \
                     not exist{why}; insert that {references} first or point the key at an \
                     existing one"
                )
            }
            Error::Unique {
                model,
                field,
                key,
                existing,
            } if existing.same_call() => write!(
                f,
                "unique error: {model}.{field} = {key} is already held by {existing}, which \
                 this same call wrote (undone with it: nothing changed); give each row the \
                 call writes a value of its own"
            ),
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
                change,
            } => {
                let change = match change {
                    Change::Delete => "deleted",
                    Change::Update => "given a new key",
                    Change::Apply => {
                        return write!(
                            f,
                            "{row} cannot be removed by applying the change set: {blocking_row}, \
                             which the change set leaves in place, still references it through \
                             association `{association}` (applying a change set runs no referential \
                             action); unlink or delete {blocking_row} first, or apply a change set \
                             that does"
                        );
                    }
                };
                write!(
                    f,
                    "{row} cannot be {change}: {blocking_row} still references it through association \
                     `{association}`, whose action (Restrict or NoAction) forbids it; unlink or delete \
                     {blocking_row} first"
                )
            }
            Error::Conflict { row, association } => write!(
                f,
                "conflict on association `{association}`: the call needs {row}, but deleting the \
                 rows it unlinks would cascade to {row}; unlink them without deleting where the \
                 call allows it (`Unlink::Nullify`), or change the on-delete action by which the \
                 cascade reaches {row}"
            ),
            Error::UnknownHandle { handle } => write!(
                f,
                "{handle} was not declared on this database (a fork knows what the database it \
                 was forked from declared before the fork, not after); use the handle with the \
                 database that declared it, or declare it again here"
            ),
            Error::Definition { message } => write!(f, "invalid definition: {message}"),
            Error::Capacity { model } => write!(
                f,
                "table {model} is full: it cannot hold more than u32::MAX rows at once"
            ),
            Error::Mismatch { row } => write!(
                f,
                "the change set does not fit this database at {row}: apply it to a state of this \
                 lineage that holds what the change set started from"
            ),
            Error::Archive { problem } => write!(f, "archive error: {problem}"),
            Error::Reentrant { method } => write!(
                f,
                "SharedDb::{method} called inside a read or write of the same SharedDb on the same thread, \
                 where it would wait for itself forever; finish the outer call first, or use the `&mut Db` \
                 it gives you"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// What [`Db::check_integrity`](crate::Db::check_integrity) found wrong: an index that differs
/// from its rows, or a foreign key that dangles. relata keeps this from happening; seeing one
/// is a bug in relata, and the message is the place to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityError {
    pub(crate) message: String,
}

impl IntegrityError {
    /// What is wrong, naming the table, index or association and the rows concerned. O(1).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "integrity check failed: {}", self.message)
    }
}

impl std::error::Error for IntegrityError {}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::id::{Member, Seq};

    fn row(model: &'static str, seq: u64) -> RowRef {
        RowRef::new(
            model,
            Member {
                seq: Seq::new(seq),
                slot: 0,
            }
            .in_table(NonZeroU32::MIN),
        )
    }

    #[test]
    fn messages_name_model_field_row_and_association() {
        let e = Error::Validation {
            model: "Comment",
            field: "post",
            row: row("Comment", 3),
            association: "comments",
        };
        let msg = e.to_string();
        for part in [
            "Comment.post",
            "Comment#3",
            "`comments`",
            "cannot be null",
            "Reject",
        ] {
            assert!(msg.contains(part), "{msg:?} lacks {part:?}");
        }
        let e = Error::ForeignKey {
            model: "Comment",
            field: "post",
            row: None,
            references: "Post",
            key: "Post#9".into(),
        };
        assert!(e.to_string().contains("references Post#9, which"), "{e}");
        let e = Error::NotFound {
            model: "Post",
            id: row("Post", 4),
            argument: Argument::Source,
            association: Some("comments"),
        };
        assert!(
            e.to_string()
                .starts_with("Post#4 not found: the source of association `comments`")
        );
    }

    #[test]
    fn errors_are_send_sync_and_std_errors() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
        check::<IntegrityError>();
    }
}
