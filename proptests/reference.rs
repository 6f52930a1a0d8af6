//! A deliberately naive reference for the blog schema: rows in `Vec`s indexed by creation order,
//! every question answered by a linear scan, every rule written out longhand from the spec.
//!
//! Schema: `Post`; `Comment { post: Option<Post>, likes }` (nullable: on delete SetNull, unlink
//! nulls); `Note { post: Post }` (non-null: on delete Cascade, unlink is a validation error).

/// The error classes the spec distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    NotFound,
    Validation,
    ForeignKey,
}

pub type Res<T> = Result<T, Fail>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub post: Option<usize>,
    pub likes: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub post: usize,
}

/// Rows by creation index; `None` once deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reference {
    pub posts: Vec<Option<()>>,
    pub comments: Vec<Option<Comment>>,
    pub notes: Vec<Option<Note>>,
}

fn live<T>(rows: &[Option<T>], i: usize) -> Res<&T> {
    rows.get(i).and_then(Option::as_ref).ok_or(Fail::NotFound)
}

fn dedup(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

impl Reference {
    pub fn insert_post(&mut self) -> usize {
        self.posts.push(Some(()));
        self.posts.len() - 1
    }

    pub fn insert_comment(&mut self, post: Option<usize>, likes: u8) -> Res<usize> {
        if let Some(p) = post {
            live(&self.posts, p).map_err(|_| Fail::ForeignKey)?;
        }
        self.comments.push(Some(Comment { post, likes }));
        Ok(self.comments.len() - 1)
    }

    pub fn update_comment(&mut self, c: usize, post: Option<usize>, likes: u8) -> Res<()> {
        live(&self.comments, c)?;
        if let Some(p) = post {
            live(&self.posts, p).map_err(|_| Fail::ForeignKey)?;
        }
        self.comments[c] = Some(Comment { post, likes });
        Ok(())
    }

    pub fn insert_note(&mut self, post: usize) -> Res<usize> {
        live(&self.posts, post).map_err(|_| Fail::ForeignKey)?;
        self.notes.push(Some(Note { post }));
        Ok(self.notes.len() - 1)
    }

    /// Deletes a post: its comments lose their post, its notes are deleted.
    pub fn delete_post(&mut self, p: usize) -> Res<()> {
        live(&self.posts, p)?;
        self.posts[p] = None;
        for c in self.comments.iter_mut().flatten() {
            if c.post == Some(p) {
                c.post = None;
            }
        }
        for n in &mut self.notes {
            if n.as_ref().is_some_and(|n| n.post == p) {
                *n = None;
            }
        }
        Ok(())
    }

    pub fn delete_comment(&mut self, c: usize) -> Res<()> {
        live(&self.comments, c)?;
        self.comments[c] = None;
        Ok(())
    }

    pub fn delete_note(&mut self, n: usize) -> Res<()> {
        live(&self.notes, n)?;
        self.notes[n] = None;
        Ok(())
    }

    /// Comments of `p` in creation order.
    pub fn comments_of(&self, p: usize) -> Res<Vec<usize>> {
        live(&self.posts, p)?;
        Ok((0..self.comments.len())
            .filter(|&c| self.comments[c].as_ref().is_some_and(|r| r.post == Some(p)))
            .collect())
    }

    pub fn notes_of(&self, p: usize) -> Res<Vec<usize>> {
        live(&self.posts, p)?;
        Ok((0..self.notes.len())
            .filter(|&n| self.notes[n].as_ref().is_some_and(|r| r.post == p))
            .collect())
    }

    fn check_comments(&self, cs: &[usize]) -> Res<()> {
        cs.iter()
            .try_for_each(|&c| live(&self.comments, c).map(drop))
    }

    fn check_notes(&self, ns: &[usize]) -> Res<()> {
        ns.iter().try_for_each(|&n| live(&self.notes, n).map(drop))
    }

    pub fn has_all(&self, p: usize, cs: &[usize]) -> Res<bool> {
        let linked = self.comments_of(p)?;
        self.check_comments(cs)?;
        Ok(cs.iter().all(|c| linked.contains(c)))
    }

    pub fn add_many(&mut self, p: usize, cs: &[usize]) -> Res<usize> {
        let linked = self.comments_of(p)?;
        self.check_comments(cs)?;
        let new = dedup(cs.iter().copied().filter(|c| !linked.contains(c)).collect());
        for &c in &new {
            self.comments[c].as_mut().unwrap().post = Some(p);
        }
        Ok(new.len())
    }

    pub fn remove_many(&mut self, p: usize, cs: &[usize]) -> Res<usize> {
        let linked = self.comments_of(p)?;
        self.check_comments(cs)?;
        let gone = dedup(cs.iter().copied().filter(|c| linked.contains(c)).collect());
        for &c in &gone {
            self.comments[c].as_mut().unwrap().post = None;
        }
        Ok(gone.len())
    }

    pub fn set(&mut self, p: usize, cs: &[usize]) -> Res<usize> {
        let linked = self.comments_of(p)?;
        self.check_comments(cs)?;
        let mut changed = 0;
        for &c in &linked {
            if !cs.contains(&c) {
                self.comments[c].as_mut().unwrap().post = None;
                changed += 1;
            }
        }
        for c in dedup(cs.to_vec()) {
            if !linked.contains(&c) {
                self.comments[c].as_mut().unwrap().post = Some(p);
                changed += 1;
            }
        }
        Ok(changed)
    }

    pub fn create_comment(&mut self, p: usize, likes: u8) -> Res<usize> {
        live(&self.posts, p)?;
        self.insert_comment(Some(p), likes)
    }

    pub fn comment_post(&self, c: usize) -> Res<Option<usize>> {
        Ok(live(&self.comments, c)?.post)
    }

    pub fn set_comment_post(&mut self, c: usize, p: Option<usize>) -> Res<()> {
        live(&self.comments, c)?;
        if let Some(p) = p {
            live(&self.posts, p)?;
        }
        self.comments[c].as_mut().unwrap().post = p;
        Ok(())
    }

    pub fn create_comment_post(&mut self, c: usize) -> Res<usize> {
        live(&self.comments, c)?;
        let p = self.insert_post();
        self.comments[c].as_mut().unwrap().post = Some(p);
        Ok(p)
    }

    /// Notes are non-null: unlinking one is a validation error unless `delete` is asked.
    pub fn set_notes(&mut self, p: usize, ns: &[usize], delete: bool) -> Res<usize> {
        let linked = self.notes_of(p)?;
        self.check_notes(ns)?;
        let unlink: Vec<usize> = linked.iter().copied().filter(|n| !ns.contains(n)).collect();
        if !unlink.is_empty() && !delete {
            return Err(Fail::Validation);
        }
        for &n in &unlink {
            self.notes[n] = None;
        }
        let link: Vec<usize> = dedup(ns.iter().copied().filter(|n| !linked.contains(n)).collect());
        for &n in &link {
            self.notes[n].as_mut().unwrap().post = p;
        }
        Ok(unlink.len() + link.len())
    }

    pub fn remove_note(&mut self, p: usize, n: usize, delete: bool) -> Res<bool> {
        let linked = self.notes_of(p)?;
        live(&self.notes, n)?;
        if !linked.contains(&n) {
            return Ok(false);
        }
        if !delete {
            return Err(Fail::Validation);
        }
        self.notes[n] = None;
        Ok(true)
    }

    pub fn null_note_post(&mut self, n: usize) -> Res<()> {
        live(&self.notes, n)?;
        Err(Fail::Validation)
    }
}
