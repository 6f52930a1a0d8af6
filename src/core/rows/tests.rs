use super::*;

fn arena<T: Clone>() -> Arena<T> {
    Arena::new(NonZeroU32::MIN)
}

#[test]
fn stale_ids_never_resolve_after_slot_reuse() {
    let mut rows = arena();
    let a = rows.insert("a").unwrap().0;
    assert_eq!(rows.remove(a), Some("a"));
    let b = rows.insert("b").unwrap().0;
    assert_eq!(a.slot(), b.slot(), "the freed slot is reused");
    assert_eq!(rows.get(a), None);
    assert_eq!(rows.get(b), Some(&"b"));
    assert_eq!(rows.remove(a), None);
    assert_eq!(rows.len(), 1);
}

#[test]
fn reserved_numbers_are_this_instances_alone_and_unused_ones_go_back() {
    let mut rows = arena();
    rows.insert(0).unwrap();
    rows.reserve(10);
    let first = rows.insert(1).unwrap().0;
    // A clone (a fork's copy) inherits no reservation: it draws after the reserved numbers.
    let mut clone = rows.clone();
    let theirs = clone.insert(2).unwrap().0;
    let second = rows.insert(3).unwrap().0;
    assert_eq!((first.seq(), second.seq()), (2, 3));
    assert_eq!(theirs.seq(), 12, "after the 10 reserved at 2..=11");
    // A clone drew since: the unused numbers are skipped, not handed out twice.
    rows.release();
    assert_eq!(rows.insert(4).unwrap().0.seq(), 13);
    // Nobody drew since: the counter goes back to the last number used.
    rows.reserve(100);
    assert_eq!(rows.insert(5).unwrap().0.seq(), 14);
    rows.release();
    assert_eq!(rows.counter(), 14);
    assert_eq!(clone.insert(6).unwrap().0.seq(), 15);
    // Putting a row under a given id drops the reservation: later rows come after it.
    rows.reserve(50);
    let given = RawId::new(NonZeroU64::new(1_000).unwrap(), 40, NonZeroU32::MIN);
    rows.put(given, 7).unwrap();
    assert!(rows.insert(8).unwrap().0.seq() > 1_000);
}

#[test]
fn ids_of_another_table_instance_never_resolve() {
    let mut one = Arena::new(NonZeroU32::MIN);
    let mut two = Arena::new(NonZeroU32::new(2).unwrap());
    let a = one.insert(1).unwrap().0;
    let b = two.insert(2).unwrap().0;
    assert_eq!((a.slot(), a.seq()), (b.slot(), b.seq()));
    assert_eq!(one.get(b), None);
    assert_eq!(two.get(a), None);
    assert_eq!(two.remove(a), None);
}

#[test]
fn a_dropped_clone_cannot_resurrect_its_ids() {
    let mut rows = arena();
    rows.insert(1).unwrap();
    let before = rows.clone();
    let mut txn = rows.clone();
    let lost = txn.insert(2).unwrap().0;
    drop(txn); // rollback: keep `before`
    let mut rows = before;
    let fresh = rows.insert(3).unwrap().0;
    assert_eq!(lost.slot(), fresh.slot(), "same slot in both histories");
    assert_eq!(rows.get(lost), None, "the rolled-back id stays dead");
    assert_eq!(rows.get(fresh), Some(&3));
}

#[test]
fn clones_are_independent() {
    let mut a = arena();
    let x = a.insert(String::from("x")).unwrap().0;
    let b = a.clone();
    *a.get_mut(x).unwrap() = "changed".into();
    a.insert("y".into()).unwrap();
    assert_eq!(b.get(x).map(String::as_str), Some("x"));
    assert_eq!(b.len(), 1);
    assert_eq!(a.len(), 2);
}

#[test]
fn iter_skips_vacant_slots_across_leaves() {
    let mut rows = arena();
    let ids: Vec<_> = (0..70).map(|i| rows.insert(i).unwrap().0).collect();
    for &i in &[1, 3, 40, 69] {
        rows.remove(ids[i]);
    }
    let live: Vec<_> = rows.iter().map(|(id, v)| (id, *v)).collect();
    let expected: Vec<_> = (0..70)
        .filter(|i| ![1, 3, 40, 69].contains(i))
        .map(|i| (ids[i], i))
        .collect();
    assert_eq!(live, expected);
    assert!(rows.has_room());
}

#[test]
fn undo_restores_rows_and_the_free_list() {
    let mut rows = arena();
    let a = rows.insert('a').unwrap().0;
    let b = rows.insert('b').unwrap().0;
    rows.remove(a);
    // Undo of an insert into a reused slot, then of an appended one.
    let c = rows.insert('c').unwrap().0;
    let d = rows.insert('d').unwrap().0;
    assert_eq!(rows.unstore(d), Some('d'));
    assert_eq!(rows.unstore(c), Some('c'));
    // Undo of the remove.
    assert!(rows.restore(a, 'a'));
    assert_eq!(rows.get(a), Some(&'a'));
    assert_eq!(rows.get(b), Some(&'b'));
    assert_eq!(rows.len(), 2);
    // The next inserts take the slot after `b`, then a new one: as if nothing had happened.
    let e = rows.insert('e').unwrap().0;
    assert_eq!(e.slot(), d.slot());
    assert!(e.seq() > d.seq(), "creation numbers never go back");
    assert_eq!(rows.get(c), None);
    assert_eq!(rows.get(d), None);
}
