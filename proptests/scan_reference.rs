//! The naive full-scan view of a database of the `changes_reference` schema (every row by id,
//! every link worked out from the rows' keys, what relata's indexes answer), and the diff of two
//! such views with what applying it elsewhere should give. Included from `changes_reference`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use relata::{Db, HasMany, Id, Key, Table};

use super::{Badge, Fan, NAMES, Player, Schema, Tab, Team};

pub type Links<S, T> = BTreeSet<(Id<S>, Id<T>)>;

/// The links of the four associations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkSets {
    pub roster: Links<Team, Player>,
    pub mentees: Links<Player, Player>,
    pub awards: Links<Player, Badge>,
    pub club: Links<Team, Fan>,
}

/// A database seen naively: rows by id, links from the rows' keys, and what the indexes say.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub teams: BTreeMap<Id<Team>, Team>,
    pub players: BTreeMap<Id<Player>, Player>,
    pub badges: BTreeMap<Id<Badge>, Badge>,
    pub fans: BTreeMap<Id<Fan>, Fan>,
    /// Worked out from the rows: a key names the row it holds the id (or the name) of.
    pub links: LinkSets,
    /// As `HasMany::get` answers for every source row.
    pub indexed: LinkSets,
    /// As `Unique::find` answers for every name.
    pub unique: BTreeMap<u8, Id<Team>>,
}

fn rows<T: Tab>(db: &Db, table: Table<T>) -> BTreeMap<Id<T>, T> {
    table
        .scan(db)
        .unwrap()
        .map(|r| (r.id(), (*r).clone()))
        .collect()
}

fn children<S: Tab, T: Tab, K: Key>(
    db: &Db,
    hm: HasMany<S, T, K>,
    sources: &BTreeMap<Id<S>, S>,
) -> Links<S, T> {
    let mut links = BTreeSet::new();
    for &s in sources.keys() {
        for c in hm.get(db, s).unwrap() {
            links.insert((s, c.id()));
        }
    }
    links
}

impl State {
    pub fn of(db: &Db, s: &Schema) -> State {
        let (teams, players, badges, fans) = (
            rows(db, s.teams),
            rows(db, s.players),
            rows(db, s.badges),
            rows(db, s.fans),
        );
        let named = |name: u8| {
            teams
                .iter()
                .find(|(_, t)| t.name == name)
                .map(|(&id, _)| id)
        };
        let links = LinkSets {
            roster: players
                .iter()
                .filter_map(|(&p, r)| r.team.filter(|t| teams.contains_key(t)).map(|t| (t, p)))
                .collect(),
            mentees: players
                .iter()
                .filter_map(|(&p, r)| r.mentor.filter(|m| players.contains_key(m)).map(|m| (m, p)))
                .collect(),
            awards: badges
                .iter()
                .filter(|(_, b)| players.contains_key(&b.player))
                .map(|(&b, r)| (r.player, b))
                .collect(),
            club: fans
                .iter()
                .filter_map(|(&f, r)| r.team_name.and_then(named).map(|t| (t, f)))
                .collect(),
        };
        let indexed = LinkSets {
            roster: children(db, s.roster, &teams),
            mentees: children(db, s.mentees, &players),
            awards: children(db, s.awards, &players),
            club: children(db, s.club, &teams),
        };
        // Every name in use (a corrupted archive may hold any), and those histories draw.
        let names: BTreeSet<u8> = teams.values().map(|t| t.name).chain(0..=NAMES).collect();
        let unique = names
            .into_iter()
            .filter_map(|n| s.team_names.find(db, &n).unwrap().map(|r| (n, r.id())))
            .collect();
        State {
            teams,
            players,
            badges,
            fans,
            links,
            indexed,
            unique,
        }
    }

    /// The rows whose key names no row.
    pub fn dangling(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in self.players.values() {
            let team = p.team.is_none_or(|t| self.teams.contains_key(&t));
            if !team || !p.mentor.is_none_or(|m| self.players.contains_key(&m)) {
                out.push(format!("{p:?}"));
            }
        }
        for b in self.badges.values() {
            if !self.players.contains_key(&b.player) {
                out.push(format!("{b:?}"));
            }
        }
        for f in self.fans.values() {
            if !f
                .team_name
                .is_none_or(|n| self.teams.values().any(|t| t.name == n))
            {
                out.push(format!("{f:?}"));
            }
        }
        out
    }

    /// Whether two teams share a name.
    pub fn duplicate_names(&self) -> bool {
        let names: BTreeSet<u8> = self.teams.values().map(|t| t.name).collect();
        names.len() != self.teams.len()
    }

    /// Checks that unique names are unique and the indexes agree with the rows.
    pub fn check_indexes(&self) {
        let names: BTreeMap<u8, Id<Team>> =
            self.teams.iter().map(|(&id, t)| (t.name, id)).collect();
        assert_eq!(names.len(), self.teams.len(), "duplicate team names");
        assert_eq!(self.unique, names, "unique lookups differ from the rows");
        assert_eq!(
            self.indexed, self.links,
            "association indexes differ from the rows"
        );
    }

    /// Checks what a consistent database satisfies: every key resolves, the indexes agree with
    /// the rows.
    pub fn check_consistent(&self) {
        assert_eq!(
            self.dangling(),
            Vec::<String>::new(),
            "rows with dangling keys"
        );
        self.check_indexes();
    }

    /// The state with ids replaced by creation numbers and rows by their `Debug` (which names
    /// rows as `Model#seq`): what two databases with different ids for the same rows share.
    pub fn canon(&self) -> Canon {
        fn rows<T: Debug>(m: &BTreeMap<Id<T>, T>) -> Vec<(u64, String)> {
            m.iter()
                .map(|(id, r)| (id.seq(), format!("{r:?}")))
                .collect()
        }
        fn links<S, T>(l: &Links<S, T>) -> Vec<(u64, u64)> {
            l.iter().map(|(s, t)| (s.seq(), t.seq())).collect()
        }
        let sets = |l: &LinkSets| {
            [
                links(&l.roster),
                links(&l.mentees),
                links(&l.awards),
                links(&l.club),
            ]
        };
        Canon {
            rows: [
                rows(&self.teams),
                rows(&self.players),
                rows(&self.badges),
                rows(&self.fans),
            ],
            links: sets(&self.links),
            indexed: sets(&self.indexed),
            unique: self.unique.iter().map(|(&n, id)| (n, id.seq())).collect(),
        }
    }
}

/// A [`State`] by creation numbers: see [`State::canon`].
#[derive(Clone, Debug, PartialEq)]
pub struct Canon {
    pub rows: [Vec<(u64, String)>; 4],
    pub links: [Vec<(u64, u64)>; 4],
    pub indexed: [Vec<(u64, u64)>; 4],
    pub unique: Vec<(u8, u64)>,
}

/// One table's changes: `(id, row)` inserted and deleted, `(id, old, new)` updated.
#[derive(Debug, PartialEq)]
pub struct Rows<T> {
    pub inserted: Vec<(Id<T>, T)>,
    pub deleted: Vec<(Id<T>, T)>,
    pub updated: Vec<(Id<T>, T, T)>,
}

pub fn expected_rows<T: Tab>(before: &BTreeMap<Id<T>, T>, after: &BTreeMap<Id<T>, T>) -> Rows<T> {
    let only = |a: &BTreeMap<Id<T>, T>, b: &BTreeMap<Id<T>, T>| {
        a.iter()
            .filter(|(id, _)| !b.contains_key(id))
            .map(|(&id, r)| (id, r.clone()))
            .collect()
    };
    Rows {
        inserted: only(after, before),
        deleted: only(before, after),
        updated: before
            .iter()
            .filter_map(|(&id, old)| {
                let new = after.get(&id).filter(|new| *new != old)?;
                Some((id, old.clone(), new.clone()))
            })
            .collect(),
    }
}

/// What applying `before → after` to `target` should make of one table: the rows it must
/// hold, and the first row whose absence must make it a mismatch (a row it deletes, or
/// updates unless `resurrects_updated_rows`, that `target` does not hold).
pub fn overlay<T: Tab>(
    resurrects_updated_rows: bool,
    before: &BTreeMap<Id<T>, T>,
    after: &BTreeMap<Id<T>, T>,
    target: &BTreeMap<Id<T>, T>,
) -> (BTreeMap<Id<T>, T>, Option<String>) {
    let d = expected_rows(before, after);
    let mut rows = target.clone();
    let mut absent = d
        .deleted
        .iter()
        .map(|(id, _)| id)
        .find(|id| !target.contains_key(id));
    if !resurrects_updated_rows {
        absent = absent.or(d
            .updated
            .iter()
            .map(|(id, ..)| id)
            .find(|id| !target.contains_key(id)));
    }
    for (id, _) in &d.deleted {
        rows.remove(id);
    }
    for (id, row) in d
        .inserted
        .iter()
        .map(|(id, r)| (id, r))
        .chain(d.updated.iter().map(|(id, _, new)| (id, new)))
    {
        rows.insert(*id, row.clone());
    }
    (rows, absent.map(|id| id.to_string()))
}

/// `actual` is `expected`, but for rows equal in `before` and `after` that may hold `after`'s
/// value instead.
pub fn same_rows<T: Tab>(
    actual: &BTreeMap<Id<T>, T>,
    expected: &BTreeMap<Id<T>, T>,
    before: &BTreeMap<Id<T>, T>,
    after: &BTreeMap<Id<T>, T>,
) -> bool {
    let keys: BTreeSet<_> = actual.keys().chain(expected.keys()).collect();
    keys.into_iter().all(|id| {
        let (x, e) = (actual.get(id), expected.get(id));
        x == e
            || (before.get(id).is_some() && before.get(id) == after.get(id) && x == after.get(id))
    })
}
