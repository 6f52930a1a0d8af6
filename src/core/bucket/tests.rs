use super::*;
use std::collections::BTreeSet;

/// Checks a large bucket's chunks: non-empty, sorted, within capacity, `last` and `len`
/// right.
fn check(bucket: &Bucket) {
    if let Bucket::Large(chunks) = bucket {
        let mut total = 0;
        let mut previous = None;
        for chunk in dir(chunks) {
            let ids = chunk.slice();
            assert!(!ids.is_empty() && ids.len() <= CHUNK);
            assert_eq!(chunk.last, ids[ids.len() - 1]);
            for &id in ids {
                assert!(previous < Some(id), "sorted across chunks");
                previous = Some(id);
            }
            total += ids.len();
        }
        assert_eq!(total, chunks.header.children);
    }
}

#[test]
fn large_buckets_behave_like_a_sorted_set_under_random_edits_and_snapshots() {
    let n: u64 = if cfg!(miri) { 400 } else { 20_000 };
    let mut bucket = Bucket::default();
    let mut model = BTreeSet::new();
    let mut snapshots = Vec::new();
    let mut forms = BTreeSet::new();
    let mut x: u64 = 88172645463325252;
    for step in 0..(4 * n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let s = x % n + 1;
        // Mostly grow early, mostly shrink late, so both splits and merges happen.
        let grow = (x >> 32) % 4 < if step < 2 * n { 3 } else { 1 };
        if grow {
            assert_eq!(bucket.insert(id(s)), model.insert(id(s)));
        } else {
            assert_eq!(bucket.remove(id(s)), model.remove(&id(s)));
        }
        forms.insert(match &bucket {
            Bucket::Empty => 0,
            Bucket::Small { .. } => 1,
            Bucket::Large(_) => 2,
            Bucket::Huge(_) => 3,
        });
        if step % 997 == 0 {
            check(&bucket);
            assert!(bucket.iter().eq(model.iter().copied()));
            snapshots.push((bucket.clone(), model.clone()));
        }
    }
    check(&bucket);
    assert_eq!(bucket.len(), model.len());
    assert!(bucket.iter().eq(model.iter().copied()));
    assert_eq!(bucket.iter().len(), model.len());
    for s in (1..=n).step_by(13) {
        assert_eq!(bucket.contains(id(s)), model.contains(&id(s)));
    }
    for (snapshot, expected) in snapshots {
        assert!(
            snapshot.iter().eq(expected.iter().copied()),
            "a snapshot never changes"
        );
    }
    if !cfg!(miri) {
        assert!(forms.is_superset(&BTreeSet::from([1, 2, 3])), "{forms:?}");
    }
}

/// A bucket is three words whatever its form: the index of a foreign key holds one per
/// source row.
#[test]
fn a_bucket_is_three_words() {
    assert_eq!(std::mem::size_of::<Bucket>(), 24);
}

/// Past `HUGE_AT` children a bucket is a B-tree; emptied again it goes back through chunks
/// to the small form, and snapshots taken on the way keep their children.
#[test]
fn huge_buckets_turn_back_into_chunks_and_keep_snapshots() {
    let n = if cfg!(miri) { 0 } else { 3 * HUGE_AT as u64 };
    let mut bucket = Bucket::default();
    let mut snapshots = Vec::new();
    for s in 1..=n {
        assert!(bucket.insert(id(s)));
        if s % 1000 == 0 {
            snapshots.push((bucket.clone(), s));
        }
    }
    if n > 0 {
        assert!(matches!(bucket, Bucket::Huge(_)));
        assert!(!bucket.insert(id(5)));
    }
    // Oldest first: the order a FIFO of children removes them in.
    for s in 1..=n {
        assert!(bucket.remove(id(s)));
        assert!(!bucket.remove(id(s)));
        let left = (n - s) as usize;
        assert_eq!(bucket.len(), left);
        let form_ok = match &bucket {
            Bucket::Huge(_) => left > HUGE_AT / 2,
            Bucket::Large(_) => left > SMALL_MAX / 2 && left <= HUGE_AT / 2,
            Bucket::Small { .. } => (1..=SMALL_MAX / 2).contains(&left),
            Bucket::Empty => left == 0,
        };
        assert!(form_ok, "{left} children");
        if s % 777 == 0 {
            check(&bucket);
            assert!(bucket.iter().eq((s + 1..=n).map(id)));
        }
    }
    for (snapshot, upto) in snapshots {
        assert_eq!(snapshot.len(), upto as usize);
        assert!(snapshot.iter().eq((1..=upto).map(id)));
    }
}

fn id(seq: u64) -> Member {
    Member {
        seq: Seq::new(seq),
        slot: seq as u32,
    }
}

#[test]
fn behaves_like_a_sorted_set_across_both_forms() {
    let mut bucket = Bucket::default();
    let mut model = BTreeSet::new();
    // Grow well past SMALL_MAX, then shrink back below it, in a scrambled order.
    let seqs: Vec<u64> = (1..=200).map(|i| (i * 37) % 211 + 1).collect();
    for &s in &seqs {
        assert_eq!(bucket.insert(id(s)), model.insert(id(s)));
        assert!(!bucket.insert(id(s)), "second insert is a no-op");
    }
    assert!(matches!(bucket, Bucket::Large(_)));
    for &s in seqs.iter().step_by(2).chain(&[999]) {
        assert_eq!(bucket.remove(id(s)), model.remove(&id(s)));
    }
    for s in 1..=180 {
        assert_eq!(bucket.remove(id(s)), model.remove(&id(s)));
        assert_eq!(bucket.len(), model.len());
        assert!(bucket.iter().eq(model.iter().copied()));
        assert_eq!(bucket.iter().len(), model.len());
    }
    assert!(matches!(bucket, Bucket::Small { .. }));
    for s in 1..=300 {
        assert_eq!(bucket.contains(id(s)), model.contains(&id(s)));
    }
}

#[test]
fn small_buckets_keep_little_spare_room() {
    let caps: Vec<usize> = [1, 4, 5, 10, 12, 13, 16, 17, 40, 64]
        .map(capacity_for)
        .into();
    assert_eq!(caps, [4, 4, 8, 12, 12, 16, 16, 32, 64, 64]);
    // Built one child at a time, a bucket of 10 holds room for 12.
    let mut bucket = Bucket::default();
    for seq in 1..=10 {
        bucket.insert(id(seq));
    }
    let Bucket::Small { len, ids } = &bucket else {
        panic!("10 children are a small bucket");
    };
    assert_eq!((*len, ids.len()), (10, 12));
}

#[test]
fn removing_the_last_child_frees_the_bucket() {
    let mut bucket = Bucket::default();
    bucket.insert(id(1));
    assert!(bucket.remove(id(1)));
    assert!(matches!(bucket, Bucket::Empty));
    assert!(bucket.is_empty());
    assert!(!bucket.remove(id(1)));
}

#[test]
fn writes_to_a_shared_small_bucket_copy_it() {
    let mut a = Bucket::default();
    for s in [2, 4, 6] {
        a.insert(id(s));
    }
    let b = a.clone();
    a.insert(id(5)); // shared: copied, not written in place
    let c = a.clone();
    a.remove(id(2));
    assert_eq!(b.iter().collect::<Vec<_>>(), vec![id(2), id(4), id(6)]);
    assert_eq!(
        c.iter().collect::<Vec<_>>(),
        vec![id(2), id(4), id(5), id(6)]
    );
    assert_eq!(a.iter().collect::<Vec<_>>(), vec![id(4), id(5), id(6)]);
    for s in 7..=70 {
        a.insert(id(s)); // grows through every capacity, then turns Large
    }
    assert_eq!(a.len(), 67);
    assert_eq!(c.len(), 4);
}

#[test]
fn clones_do_not_see_later_writes() {
    let mut a = Bucket::default();
    a.insert(id(1));
    a.insert(id(2));
    let b = a.clone();
    a.remove(id(1));
    assert_eq!(b.iter().collect::<Vec<_>>(), vec![id(1), id(2)]);
    assert_eq!(a.iter().collect::<Vec<_>>(), vec![id(2)]);
}

/// A large bucket built by appends, whose last chunk is full, with the ids of that chunk.
fn full_last_chunk() -> (Bucket, Vec<Member>) {
    let mut bucket = Bucket::default();
    let mut s = 1;
    loop {
        bucket.insert(id(s * 1000));
        s += 1;
        if let Bucket::Large(all) = &bucket
            && let Some(last) = dir(all).last()
            && last.len as usize == CHUNK
        {
            let ids = last.slice().to_vec();
            return (bucket, ids);
        }
    }
}

#[test]
fn a_full_chunk_splits_with_the_new_child_in_place_at_every_position() {
    // Every position in a full chunk (before its first child .. after its last), in a bucket
    // whose directory has room and in one a snapshot shares: the directory grows by one chunk,
    // the set is right, and the snapshot is unchanged.
    for pos in 0..=CHUNK {
        for shared in [false, true] {
            let (mut bucket, ids) = full_last_chunk();
            let new = match pos {
                0 => id(ids[0].seq.get() - 1),
                _ => id(ids[pos - 1].seq.get() + 1),
            };
            let before: Vec<Member> = bucket.iter().collect();
            let snapshot = shared.then(|| bucket.clone());
            let chunks = |b: &Bucket| match b {
                Bucket::Large(all) => dir(all).len(),
                _ => 0,
            };
            let count = chunks(&bucket);
            assert!(bucket.insert(new));
            assert_eq!(chunks(&bucket), count + 1, "pos {pos}");
            check(&bucket);
            let mut want = before.clone();
            want.push(new);
            want.sort();
            assert!(bucket.iter().eq(want), "pos {pos}");
            if let Some(snapshot) = snapshot {
                check(&snapshot);
                assert!(
                    snapshot.iter().eq(before),
                    "pos {pos}: the snapshot changed"
                );
            }
        }
    }
}

#[test]
fn appends_split_in_place_until_the_directory_is_full() {
    // A bucket grown only by appends keeps its directory's allocation across most splits.
    let mut bucket = Bucket::default();
    let mut moves = 0;
    let mut last = None;
    for s in 1..=1_500 {
        bucket.insert(id(s));
        if let Bucket::Large(all) = &bucket {
            let at = Arc::as_ptr(all) as *const u8 as usize;
            moves += usize::from(last.is_some_and(|l| l != at));
            last = Some(at);
        }
    }
    check(&bucket);
    // 1,500 children in chunks of 8 after each split: ≈180 splits, a handful of them growing
    // the directory by half.
    assert!(moves <= 12, "{moves} reallocations");
}
