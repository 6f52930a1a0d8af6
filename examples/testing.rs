//! Unit-testing application logic with relata instead of a database: one fixture, a fork per
//! test (O(1)), and tests that assert exactly what the code under test changed, as a diff, with
//! a readable dump of the database when they fail.
//!
//! `cargo test --example testing` runs the tests; `cargo run --example testing` prints the diff
//! one of them asserts.

use relata::{Db, HasMany, Id, Schema, Table};

#[derive(Clone, Debug, PartialEq)]
struct Customer {
    name: &'static str,
    flagged: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct Order {
    customer: Id<Customer>,
    placed_day: u32,
    paid: bool,
}

#[derive(Schema, Clone, Copy)]
struct Shop {
    customers: Table<Customer>,
    orders: Table<Order>,
    #[has_many(key = customer)]
    customer_orders: HasMany<Customer, Order>,
}

/// The code under test: deletes unpaid orders older than `max_age` days, and flags customers
/// who had one. Returns how many orders it cancelled.
fn cancel_stale_orders(db: &mut Db, shop: Shop, today: u32, max_age: u32) -> relata::Result<usize> {
    db.transaction(|db| {
        let stale: Vec<Order> = shop
            .orders
            .filter(db, |o| {
                !o.paid && today.saturating_sub(o.placed_day) > max_age
            })?
            .map(|o| o.cloned())
            .collect();
        for order in &stale {
            shop.customers
                .modify(db, order.customer, |c| c.flagged = true)?;
        }
        let report = shop.orders.delete_where(db, |o| {
            !o.paid && today.saturating_sub(o.placed_day) > max_age
        })?;
        Ok(report.total_deleted())
    })
}

/// The fixture every test starts from: two customers, four orders.
fn fixture() -> (Db, Shop) {
    let (mut db, shop) = Shop::new().unwrap();
    let Shop {
        customers,
        customer_orders,
        ..
    } = shop;
    let ada = customers
        .insert(
            &mut db,
            Customer {
                name: "ada",
                flagged: false,
            },
        )
        .unwrap();
    let bob = customers
        .insert(
            &mut db,
            Customer {
                name: "bob",
                flagged: false,
            },
        )
        .unwrap();
    for (customer, placed_day, paid) in [
        (ada, 1, false),
        (ada, 9, false),
        (bob, 2, true),
        (bob, 3, false),
    ] {
        let order = Order {
            customer,
            placed_day,
            paid,
        };
        customer_orders.create(&mut db, customer, order).unwrap();
    }
    (db, shop)
}

fn main() -> relata::Result<()> {
    let (fixture, shop) = fixture();
    let mut db = fixture.fork();
    let cancelled = cancel_stale_orders(&mut db, shop, 10, 5)?;
    let changes = db.changes_since(&fixture);
    println!("cancelled {cancelled} orders; what changed:");
    for row in changes.table(shop.orders)?.deleted {
        println!("  deleted {} {:?}", row.id(), *row);
    }
    for update in changes.table(shop.customers)?.updated {
        println!(
            "  updated {}: {:?} -> {:?}",
            update.id, update.old, update.new
        );
    }
    let unlinked = changes.links(shop.customer_orders)?.removed;
    println!("  {} customer-order links removed", unlinked.len());
    println!(
        "\nthe database now:\n{}",
        db.dump().rows(shop.customers).rows(shop.orders)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_unpaid_orders_are_cancelled_and_their_customers_flagged() {
        let (fixture, shop) = fixture();
        let mut db = fixture.fork();
        assert_eq!(cancel_stale_orders(&mut db, shop, 10, 5).unwrap(), 2);

        // Exactly these rows changed, and nothing else.
        let changes = db.changes_since(&fixture);
        let orders = changes.table(shop.orders).unwrap();
        let deleted: Vec<(u32, bool)> = orders
            .deleted
            .iter()
            .map(|o| (o.placed_day, o.paid))
            .collect();
        assert_eq!(
            deleted,
            [(1, false), (3, false)],
            "{}",
            db.dump().rows(shop.orders)
        );
        assert!(orders.inserted.is_empty() && orders.updated.is_empty());
        let customers = changes.table(shop.customers).unwrap();
        let flagged: Vec<&str> = customers.updated.iter().map(|u| u.new.name).collect();
        assert_eq!(flagged, ["ada", "bob"]);
        assert!(
            customers
                .updated
                .iter()
                .all(|u| !u.old.flagged && u.new.flagged)
        );
        assert_eq!(
            changes.links(shop.customer_orders).unwrap().removed.len(),
            2
        );
    }

    #[test]
    fn nothing_changes_when_nothing_is_stale() {
        let (fixture, shop) = fixture();
        let mut db = fixture.fork();
        assert_eq!(cancel_stale_orders(&mut db, shop, 4, 5).unwrap(), 0);
        let changes = db.changes_since(&fixture);
        assert!(changes.table(shop.orders).unwrap().is_empty());
        assert!(
            changes.table(shop.customers).unwrap().is_empty(),
            "{}",
            db.dump()
        );
        // Stricter: nothing was even written. (A row written with the value it had counts as
        // written here, though `table(..)` lists no update for it.)
        assert!(changes.is_empty());
    }

    #[test]
    fn a_call_that_fails_leaves_no_trace() {
        let (fixture, shop) = fixture();
        let mut db = fixture.fork();
        let ada = shop.customers.scan(&db).unwrap().next().unwrap().id();
        // Refused half-way: the second order names a customer that does not exist.
        let orders = [ada, Id::default()].map(|customer| Order {
            customer,
            placed_day: 11,
            paid: false,
        });
        assert!(shop.orders.insert_many(&mut db, orders).is_err());
        assert!(db.changes_since(&fixture).is_empty(), "{}", db.dump());
    }
}
