//! One operation applied to relata (under its fuse) and to the reference, and their results compared.

use super::*;

/// Applies one (non-transaction) operation: relata under the fuse, the reference if relata did
/// not panic. Returns whether relata panicked.
pub(super) fn step(run: &mut Run, db: &mut Db, model: &mut Model, op: &Op) -> bool {
    let fuse = op.fuse;
    let s = &run.s;
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return false,
            }
        };
    }
    let r = |m: &Model, t, p| resolve(m, t, p);
    // The reference row a write stores, and its relata counterparts.
    let key_of = |m: &Model, t: usize, key: Option<Pick>| -> Option<Option<usize>> {
        match (t, key) {
            (NODE, k) => Some(Some(k.map_or(0, |p| p.n % usize::from(TAGS)))),
            (BUD, Some(p)) => Some(Some(p.n % usize::from(TAGS))),
            (LEAF, None) => Some(Some(r(m, NODE, Pick { live: true, n: 0 })?)),
            (_, Some(p)) => Some(Some(r(m, NODE, p)?)),
            (_, None) => Some(None),
        }
    };
    let nodes = run.ids.nodes.clone();
    let node_id = |k: Option<usize>| k.map(|i| nodes[i]);
    let tag = |k: Option<usize>| k.map(|t| t as u8);
    let (got, want): (Got, Res<Out>) = match &op.kind {
        Kind::Insert { t, key, n } => {
            let key = need!(key_of(model, *t, *key));
            let node = if matches!(*t, LEAF | TWIG) {
                node_id(key)
            } else {
                None
            };
            let (n, tag) = (*n, tag(key));
            macro_rules! insert {
                ($table:expr, $row:expr, $t:expr, $list:ident) => {
                    armed(fuse, || $table.insert(db, $row)).map(|res| {
                        res.map(|id| Out::Index(run.ids.record($t, id, |i| &mut i.$list)))
                            .map_err(class)
                    })
                };
            }
            let got = match *t {
                NODE => insert!(
                    s.nodes,
                    Node {
                        tag: tag.unwrap(),
                        n
                    },
                    NODE,
                    nodes
                ),
                LEAF => insert!(
                    s.leaves,
                    Leaf {
                        node: node.unwrap(),
                        n
                    },
                    LEAF,
                    leaves
                ),
                TWIG => insert!(s.twigs, Twig { node, n }, TWIG, twigs),
                _ => insert!(s.buds, Bud { tag, n }, BUD, buds),
            };
            let want = match got {
                Some(_) => model.insert(*t, G { key, n }).map(Out::Index),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Update { t, row, key, n } => {
            let ids = &run.ids;
            let i = need!(r(model, *t, *row));
            let key = need!(key_of(model, *t, *key));
            let n = *n;
            let got = armed(fuse, || match *t {
                NODE => s
                    .nodes
                    .update(
                        db,
                        ids.nodes[i],
                        Node {
                            tag: tag(key).unwrap(),
                            n,
                        },
                    )
                    .map(drop),
                LEAF => s
                    .leaves
                    .update(
                        db,
                        ids.leaves[i],
                        Leaf {
                            node: node_id(key).unwrap(),
                            n,
                        },
                    )
                    .map(drop),
                TWIG => s
                    .twigs
                    .update(
                        db,
                        ids.twigs[i],
                        Twig {
                            node: node_id(key),
                            n,
                        },
                    )
                    .map(drop),
                _ => s
                    .buds
                    .update(db, ids.buds[i], Bud { tag: tag(key), n })
                    .map(drop),
            });
            let got = got.map(|res| res.map(|_| Out::Unit).map_err(class));
            let want = match got {
                Some(_) => model.update(*t, i, G { key, n }).map(|_| Out::Unit),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Modify { t, row, n, panics } => {
            let ids = &run.ids;
            let i = need!(r(model, *t, *row));
            let (n, panics) = (*n, *panics);
            let change = |v: &mut u8| {
                if panics {
                    std::panic::panic_any(BOOM);
                }
                *v = n;
            };
            let got = armed(fuse, || match *t {
                NODE => s.nodes.modify(db, ids.nodes[i], |r| change(&mut r.n)),
                LEAF => s.leaves.modify(db, ids.leaves[i], |r| change(&mut r.n)),
                TWIG => s.twigs.modify(db, ids.twigs[i], |r| change(&mut r.n)),
                _ => s.buds.modify(db, ids.buds[i], |r| change(&mut r.n)),
            });
            let got = got.map(|res| res.map(|_| Out::Unit).map_err(class));
            let want = match got {
                Some(_) => model.need(*t, i).cloned().and_then(|old| {
                    model
                        .update(*t, i, G { key: old.key, n })
                        .map(|_| Out::Unit)
                }),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::ModifyAll {
            leaves,
            n,
            panics,
            at,
        } => {
            let t = if *leaves { LEAF } else { TWIG };
            let (n, stop) = (*n, panics.then_some(usize::from(*at)));
            let mut seen = 0;
            let mut change = |v: &mut u8| {
                if stop == Some(seen) {
                    std::panic::panic_any(BOOM);
                }
                seen += 1;
                *v = n;
            };
            let got = armed(fuse, || {
                if *leaves {
                    s.leaves.modify_all(db, |r| change(&mut r.n))
                } else {
                    s.twigs.modify_all(db, |r| change(&mut r.n))
                }
            });
            let got = got.map(|res| res.map(Out::Count).map_err(class));
            let want = match got {
                Some(_) => {
                    let live: Vec<usize> = (0..model.tables[t].len())
                        .filter(|&i| model.live(t, i))
                        .collect();
                    live.iter()
                        .try_for_each(|&i| {
                            let key = model.need(t, i)?.key;
                            model.update(t, i, G { key, n })
                        })
                        .map(|()| Out::Count(live.len()))
                }
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Delete { t, row } => {
            let ids = &run.ids;
            let i = need!(r(model, *t, *row));
            let got = armed(fuse, || match *t {
                NODE => s.nodes.delete(db, ids.nodes[i]).map(drop),
                LEAF => s.leaves.delete(db, ids.leaves[i]).map(drop),
                TWIG => s.twigs.delete(db, ids.twigs[i]).map(drop),
                _ => s.buds.delete(db, ids.buds[i]).map(drop),
            });
            let got = got.map(|res| res.map(|_| Out::Unit).map_err(class));
            let want = match got {
                Some(_) => model.delete(*t, i).map(|_| Out::Unit),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Add { t, node, child } => {
            let ids = &run.ids;
            let p = need!(r(model, NODE, *node));
            let c = need!(r(model, *t, *child));
            let got = armed(fuse, || match *t {
                TWIG => s.node_twigs.add(db, ids.nodes[p], ids.twigs[c]),
                _ => s.node_buds.add(db, ids.nodes[p], ids.buds[c]),
            });
            let got = got.map(|res| res.map(Out::Bool).map_err(class));
            let want = match got {
                Some(_) => model.add(*t, p, c).map(Out::Bool),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Set {
            t,
            node,
            children,
            delete,
        } => {
            let ids = &run.ids;
            let p = need!(r(model, NODE, *node));
            let cs: Vec<usize> = need!(children.iter().map(|&c| r(model, *t, c)).collect());
            let policy = delete.then_some(Unlink::Delete);
            let got = armed(fuse, || match *t {
                LEAF => s.node_leaves.set_with(
                    db,
                    ids.nodes[p],
                    cs.iter().map(|&c| ids.leaves[c]),
                    policy,
                ),
                _ => {
                    s.node_twigs
                        .set_with(db, ids.nodes[p], cs.iter().map(|&c| ids.twigs[c]), None)
                }
            });
            let got = got.map(|res| res.map(Out::Count).map_err(class));
            let want = match got {
                Some(_) => model.set(*t, p, &cs, *delete).map(Out::Count),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::RemoveTwigs { node, twigs } => {
            let ids = &run.ids;
            let p = need!(r(model, NODE, *node));
            let cs: Vec<usize> = need!(twigs.iter().map(|&c| r(model, TWIG, c)).collect());
            let got = armed(fuse, || {
                s.node_twigs
                    .remove_many(db, ids.nodes[p], cs.iter().map(|&c| ids.twigs[c]))
            });
            let got = got.map(|res| res.map(Out::Count).map_err(class));
            let want = match got {
                Some(_) => model.remove(TWIG, p, &cs).map(Out::Count),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Create { t, node, n } => {
            let p = need!(r(model, NODE, *node));
            let (n, node) = (*n, run.ids.nodes[p]);
            macro_rules! create {
                ($hm:expr, $row:expr, $t:expr, $list:ident) => {
                    armed(fuse, || $hm.create(db, node, $row)).map(|res| {
                        res.map(|id| Out::Index(run.ids.record($t, id, |i| &mut i.$list)))
                            .map_err(class)
                    })
                };
            }
            // Whatever key the value holds, `create` overwrites it.
            let got = match *t {
                LEAF => create!(
                    s.node_leaves,
                    Leaf {
                        node: Id::default(),
                        n
                    },
                    LEAF,
                    leaves
                ),
                TWIG => create!(s.node_twigs, Twig { node: None, n }, TWIG, twigs),
                _ => create!(s.node_buds, Bud { tag: Some(TAGS), n }, BUD, buds),
            };
            let want = match got {
                Some(_) => model.create(*t, p, n).map(Out::Index),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::CreateNode { twig, tag, n } => {
            let c = need!(r(model, TWIG, *twig));
            let (tag, n, twig) = (*tag, *n, run.ids.twigs[c]);
            let got = armed(fuse, || {
                s.node_twigs.inverse().create(db, twig, Node { tag, n })
            })
            .map(|res| {
                res.map(|id| Out::Index(run.ids.record(NODE, id, |i| &mut i.nodes)))
                    .map_err(class)
            });
            let want = match got {
                Some(_) => model.create_node(c, tag, n).map(Out::Index),
                None => Ok(Out::Unit),
            };
            (got, want)
        }
        Kind::Snapshot
        | Kind::Release
        | Kind::Begin { .. }
        | Kind::Commit
        | Kind::Rollback
        | Kind::Abort => unreachable!("handled by run_until_end"),
    };
    match got {
        None => true,
        Some(got) => {
            assert_eq!(got, want, "result of {op:?}");
            false
        }
    }
}
