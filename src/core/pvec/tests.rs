use super::*;

/// Past two trie heights (32, 1,024) natively; smaller under Miri, which is ~1000× slower.
const BIG: usize = if cfg!(miri) { 1_100 } else { 40_000 };
const MID: usize = if cfg!(miri) { 300 } else { 5_000 };

#[test]
fn behaves_like_a_vec_across_heights() {
    let mut v = PVec::new();
    let mut model = Vec::new();
    for i in 0..BIG as u32 {
        v.push(i);
        model.push(i);
    }
    assert_eq!(v.len(), model.len());
    for i in (0..BIG).step_by(7) {
        *v.get_mut(i).unwrap() *= 3;
        model[i] *= 3;
    }
    let flat: Vec<u32> = v.leaves().flat_map(|(_, l)| l.iter().copied()).collect();
    assert_eq!(flat, model);
    assert_eq!(v.get(BIG), None);
    assert_eq!(v.get_mut(7).map(|x| std::mem::replace(x, 99)), Some(21));
    assert_eq!(v.get(7), Some(&99));
    for i in (0..BIG).step_by(997) {
        let leaf = v.leaf(i).unwrap();
        assert_eq!(Some(&leaf[leaf_offset(i)]), v.get(i));
        assert_eq!(leaf_number(i), i / LEAF_LEN);
    }
    assert!(v.leaf(BIG).is_none());
    let starts: Vec<usize> = v.leaves().map(|(s, _)| s).take(3).collect();
    assert_eq!(starts, [0, LEAF_LEN, 2 * LEAF_LEN]);
}

#[test]
fn a_saved_leaf_put_back_undoes_writes_and_is_shared_again() {
    let mut v = PVec::new();
    for i in 0..MID as u32 {
        v.push(i);
    }
    let at = 3 * LEAF_LEN + 4;
    assert!(!v.leaf_shared(at));
    let saved = v.leaf_ref(at).unwrap();
    assert!(v.leaf_shared(at), "a saved leaf is shared");
    for i in at - 4..at + 4 {
        *v.get_mut(i).unwrap() += 1_000;
    }
    assert_eq!(v.get(at), Some(&(at as u32 + 1_000)));
    assert!(!v.leaf_shared(at), "the write copied it");
    let snapshot = v.clone();
    assert!(v.leaf_shared(at), "a clone shares every leaf");
    v.set_leaf(at, saved);
    assert_eq!(v.get(at), Some(&(at as u32)));
    assert_eq!(snapshot.get(at), Some(&(at as u32 + 1_000)));
    let flat: Vec<u32> = v.leaves().flat_map(|(_, l)| l.iter().copied()).collect();
    assert_eq!(flat, (0..MID as u32).collect::<Vec<_>>());
    assert!(v.leaf_ref(MID).is_none());
}

#[test]
fn diff_visits_what_changed_and_skips_what_is_shared() {
    let mut a = PVec::new();
    for i in 0..BIG as u32 {
        a.push(i);
    }
    let mut b = a.clone();
    *b.get_mut(5).unwrap() = 1_000_000;
    *b.get_mut(BIG - 3).unwrap() = 2_000_000;
    for i in 0..40 {
        b.push(i);
    }
    let mut seen = Vec::new();
    a.diff(&b, &mut |i, x, y| {
        if x != y {
            seen.push((i, x.copied(), y.copied()));
        }
    });
    let mut expected = vec![
        (5, Some(5), Some(1_000_000)),
        (BIG - 3, Some(BIG as u32 - 3), Some(2_000_000)),
    ];
    expected.extend((0..40).map(|i| (BIG + i as usize, None, Some(i))));
    assert_eq!(seen, expected);
    // Shared subtrees are skipped: only the touched leaves (and the new ones) are visited.
    let mut visited = 0;
    a.diff(&b, &mut |_, _, _| visited += 1);
    assert!(visited <= 5 * LEAF, "visited {visited}");
    // Unrelated vectors are compared in full, and a vector against itself is empty.
    let c: PVec<u32> = {
        let mut c = PVec::new();
        for i in 0..70 {
            c.push(i * 2);
        }
        c
    };
    let mut differing = 0;
    c.diff(&a, &mut |_, x, y| differing += usize::from(x != y));
    assert_eq!(differing, BIG - 1, "only index 0 agrees");
    let mut none = 0;
    a.diff(&a.clone(), &mut |_, _, _| none += 1);
    assert_eq!(none, 0);
}

/// What `diff` visits in a leaf both vectors hold, as (index, mine, theirs).
fn visited(a: &PVec<u32>, b: &PVec<u32>) -> Vec<(usize, Option<u32>, Option<u32>)> {
    let mut seen = Vec::new();
    a.diff(b, &mut |i, x, y| seen.push((i, x.copied(), y.copied())));
    seen
}

#[test]
fn an_entry_older_than_the_ages_can_hold_is_taken_for_possibly_different() {
    let original = LeafNode::new([0u32; LEAF]);
    let mut copy = original.clone();
    assert_eq!(copy.may_differ(&original), 0, "an unwritten copy");
    // 2³² − 1 epochs later, the age of an unwritten entry no longer fits.
    copy.ages = LeafNode::<u32>::aged(&copy.ages, u64::from(u32::MAX));
    assert_eq!(copy.ages[0], UNKNOWN);
    assert_eq!(copy.may_differ(&original), u32::MAX);
    assert_eq!(original.may_differ(&copy), u32::MAX);
}

/// A write undone (the old value written back, then its stamp put back) is invisible to a diff
/// against a clone from before it, whether the write copied the leaf or wrote in place. A write
/// to an entry already written in the same epoch has no stamp to put back: a clone taken after
/// it holds its value under that epoch's stamp, and must still see the undo as a change.
#[test]
fn an_undone_write_with_its_stamp_put_back_is_invisible_to_a_diff() {
    let mut v = PVec::new();
    for i in 0..MID as u32 {
        v.push(i);
    }
    let before = v.clone();
    // The first write copies the leaf a clone shares.
    let (entry, stamp) = v.get_mut_stamped(40).unwrap();
    let old = std::mem::replace(entry, 1_000);
    assert_ne!(stamp, Stamp::NONE);
    // Undone: the old value back, then the stamp.
    *v.get_mut(40).unwrap() = old;
    assert_eq!(
        visited(&before, &v),
        [(40, Some(40), Some(40))],
        "written back, marked"
    );
    v.restamp(40, stamp);
    assert_eq!(visited(&before, &v), [], "the undo leaves no trace");

    // A write in place to an entry of the copied leaf (not shared any more), undone.
    let (entry, stamp) = v.get_mut_stamped(41).unwrap();
    *entry += 1;
    *v.get_mut(41).unwrap() -= 1;
    v.restamp(41, stamp);
    assert_eq!(visited(&before, &v), []);

    // An entry written, cloned, written again: undoing the second write cannot claim the
    // entry is as the clone before it holds it.
    *v.get_mut(42).unwrap() = 7;
    let (entry, stamp) = v.get_mut_stamped(42).unwrap();
    *entry = 8;
    assert_eq!(stamp, Stamp::NONE, "written earlier in this epoch");
    let between = v.clone();
    let (entry, stamp) = v.get_mut_stamped(42).unwrap();
    *entry = 9;
    *v.get_mut(42).unwrap() = 8;
    v.restamp(42, stamp);
    assert_eq!(
        visited(&between, &v),
        [],
        "the clone holds 8 under the restored stamp"
    );
    assert_eq!(visited(&before, &v), [(42, Some(42), Some(8))]);

    *v.get_mut(43).unwrap() = 7;
    let (entry, stamp) = v.get_mut_stamped(43).unwrap();
    *entry = 8;
    assert_eq!(stamp, Stamp::NONE);
    let after_second = v.clone();
    *v.get_mut(43).unwrap() = 7;
    v.restamp(43, stamp);
    assert_eq!(visited(&after_second, &v), [(43, Some(8), Some(7))]);
}

#[test]
fn diff_visits_only_the_entries_either_side_wrote_across_copies_of_copies() {
    let mut a = PVec::new();
    for i in 0..40u32 {
        a.push(i);
    }
    let mut b = a.clone();
    *b.get_mut(3).unwrap() = 300;
    b.push(40);
    // b's leaves are copies of a's: only what b wrote is visited, both ways.
    assert_eq!(
        visited(&a, &b),
        [(3, Some(3), Some(300)), (40, None, Some(40))]
    );
    assert_eq!(visited(&b, &a).len(), 2);
    // A write to the original after the copy: that entry too, and nothing else.
    *a.get_mut(5).unwrap() = 500;
    assert_eq!(
        visited(&a, &b),
        [
            (3, Some(3), Some(300)),
            (5, Some(500), Some(5)),
            (40, None, Some(40))
        ]
    );
    // A copy of a copy (two transactions, a snapshot held between two writes): against
    // either ancestor, what was written since.
    let mut c = b.clone();
    *c.get_mut(7).unwrap() = 700;
    assert_eq!(visited(&b, &c), [(7, Some(7), Some(700))]);
    assert_eq!(
        visited(&a, &c),
        [
            (3, Some(3), Some(300)),
            (5, Some(500), Some(5)),
            (7, Some(7), Some(700)),
            (40, None, Some(40))
        ]
    );
    // The middle one written after both copies; then siblings of one original.
    *b.get_mut(9).unwrap() = 900;
    assert_eq!(
        visited(&b, &c),
        [(7, Some(7), Some(700)), (9, Some(900), Some(9))]
    );
    let mut d = c.clone();
    let mut e = c.clone();
    *d.get_mut(1).unwrap() = 100;
    *e.get_mut(2).unwrap() = 200;
    assert_eq!(
        visited(&d, &e),
        [(1, Some(100), Some(1)), (2, Some(2), Some(200))]
    );
    // A long chain of copies, each written once at the same entry: the first against the
    // last differs there only.
    let first = a.clone();
    let mut last = a.clone();
    for round in 0..10 {
        let held = last.clone();
        *last.get_mut(11).unwrap() = 1100 + round;
        drop(held);
    }
    assert_eq!(visited(&first, &last), [(11, Some(11), Some(1109))]);
}

#[test]
fn clones_are_independent_snapshots() {
    let mut a = PVec::new();
    for i in 0..MID as i32 {
        a.push(i);
    }
    let b = a.clone();
    for i in 0..MID {
        *a.get_mut(i).unwrap() += 1;
    }
    a.push(-1);
    assert_eq!(b.len(), MID);
    assert_eq!(a.len(), MID + 1);
    for i in 0..MID {
        assert_eq!(b.get(i), Some(&(i as i32)));
        assert_eq!(a.get(i), Some(&(i as i32 + 1)));
    }
}

#[test]
fn a_panicking_clone_during_a_copy_changes_nothing() {
    #[derive(Default)]
    struct Touchy(u32);
    impl Clone for Touchy {
        fn clone(&self) -> Self {
            assert!(self.0 != 13, "thirteen");
            Touchy(self.0)
        }
    }
    let mut a = PVec::new();
    for i in 0..40 {
        a.push(Touchy(i));
    }
    let snapshot = a.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.get_mut(3).unwrap().0 = 1000;
    }));
    assert!(result.is_err());
    assert_eq!(a.get(3).map(|t| t.0), Some(3), "nothing written");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.push(Touchy(40));
    }));
    assert!(result.is_ok(), "the last leaf (32..40) holds no 13");
    assert_eq!(a.len(), 41);
    assert_eq!(snapshot.len(), 40);
}
