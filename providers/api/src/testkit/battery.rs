//! The battery items: each a test a provider must pass (see [`super::ITEMS`]).

use super::*;

/// Create record sets (several values, several types at one name) and read them back exactly.
pub async fn create(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "create: initial read").await?;
    let mut add = vec![set(
        zone,
        "sb-create",
        RType::A,
        ttl(caps, 300),
        &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    )];
    if supports(caps, RType::TXT) {
        add.push(set(
            zone,
            "sb-create",
            RType::TXT,
            ttl(caps, 300),
            &["\"created by the battery\""],
        ));
    }
    if supports(caps, RType::AAAA) {
        add.push(set(
            zone,
            "sb-create-2",
            RType::AAAA,
            ttl(caps, 3600),
            &["2001:db8::10"],
        ));
    }
    let plan = converge(p, zone, &edit(&start, &add, &[]), "create").await?;
    expect_counts(&plan, (add.len(), 0, 0), "create")?;
    let live = read(p, zone, "create: read back").await?;
    for want in &add {
        match live.get(&want.key()) {
            Some(got) if got == want => {}
            got => {
                return Err(format!(
                    "create: read back {} as {}, wrote {}",
                    want.key(),
                    got.map(show).unwrap_or_else(|| "nothing".into()),
                    show(want)
                ));
            }
        }
    }
    let plan = converge(p, zone, &start, "create: clean up").await?;
    expect_counts(&plan, (0, 0, add.len()), "create: clean up")
}

/// Update a set's TTL, its values, both; each an update (not a delete and a create).
pub async fn update(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "update: initial read").await?;
    let t1 = ttl(caps, 300);
    let t2 = ttl(caps, 90);
    let steps: Vec<(&str, RecordSet)> = vec![
        ("seed", set(zone, "sb-update", RType::A, t1, &["192.0.2.1"])),
        ("TTL", set(zone, "sb-update", RType::A, t2, &["192.0.2.1"])),
        (
            "add a value",
            set(zone, "sb-update", RType::A, t2, &["192.0.2.1", "192.0.2.2"]),
        ),
        (
            "replace a value",
            set(zone, "sb-update", RType::A, t2, &["192.0.2.2", "192.0.2.3"]),
        ),
        (
            "remove a value",
            set(zone, "sb-update", RType::A, t2, &["192.0.2.3"]),
        ),
        (
            "TTL and values",
            set(
                zone,
                "sb-update",
                RType::A,
                t1,
                &["198.51.100.1", "198.51.100.2", "198.51.100.3"],
            ),
        ),
    ];
    for (i, (what, rs)) in steps.iter().enumerate() {
        let step = format!("update: {what}");
        if i > 0 && *rs == steps[i - 1].1 {
            continue; // min_ttl made two steps equal
        }
        let plan = converge(p, zone, &edit(&start, std::slice::from_ref(rs), &[]), &step).await?;
        let want = if i == 0 { (1, 0, 0) } else { (0, 1, 0) };
        expect_counts(&plan, want, &step)?;
    }
    let plan = converge(p, zone, &start, "update: clean up").await?;
    expect_counts(&plan, (0, 0, 1), "update: clean up")
}

/// Delete one set and leave its neighbours (same name, other type; other names) alone.
pub async fn delete(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "delete: initial read").await?;
    let t = ttl(caps, 300);
    let one = set(zone, "sb-delete-1", RType::A, t, &["192.0.2.1"]);
    let two = set(zone, "sb-delete-2", RType::A, t, &["192.0.2.2"]);
    let mut seeded = vec![one.clone(), two.clone()];
    if supports(caps, RType::TXT) {
        seeded.push(set(zone, "sb-delete-1", RType::TXT, t, &["\"stays\""]));
    }
    converge(p, zone, &edit(&start, &seeded, &[]), "delete: seed").await?;
    let seeded_zone = edit(&start, &seeded, &[]);
    let plan = converge(
        p,
        zone,
        &edit(&seeded_zone, &[], &[&one]),
        "delete: one set",
    )
    .await?;
    expect_counts(&plan, (0, 0, 1), "delete: one set")?;
    let live = read(p, zone, "delete: read back").await?;
    if live.get(&one.key()).is_some() {
        return Err(format!("delete: {} is still there", one.key()));
    }
    let plan = converge(p, zone, &start, "delete: the rest").await?;
    expect_counts(&plan, (0, 0, seeded.len() - 1), "delete: the rest")?;
    let end = read(p, zone, "delete: final read").await?;
    if !equal_ignoring_soa_serial(&start, &end) {
        return Err(format!(
            "delete: the zone is not back to where it started:{}",
            describe(&plan::diff(&end, &start, &opts()))
        ));
    }
    Ok(())
}

/// Every record type the provider's capabilities list, with canonical sample values: created
/// one type per plan, read back exactly, then deleted together.
pub async fn record_types(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    let start = read(p, zone, "record_types: initial read").await?;
    let mut types: Vec<RType> = caps.record_types.clone();
    types.sort();
    types.dedup();
    let mut missing = Vec::new();
    let mut desired = start.clone();
    let mut created = 0;
    for t in types {
        if t == RType::SOA || t.is_meta() {
            continue;
        }
        let Some((label, values)) = sample(t) else {
            missing.push(t);
            continue;
        };
        let name = rel(zone, label);
        let rs = RecordSet::new(
            name,
            t,
            ttl(caps, 300),
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        );
        if desired.get(&rs.key()).is_some() {
            // The zone already has such a set (e.g. an apex CDS): leave it alone.
            continue;
        }
        desired = edit(&desired, &[rs], &[]);
        let step = format!("record_types: {t}");
        let plan = converge(p, zone, &desired, &step).await?;
        expect_counts(&plan, (1, 0, 0), &step)?;
        created += 1;
    }
    let plan = converge(p, zone, &start, "record_types: clean up").await?;
    expect_counts(&plan, (0, 0, created), "record_types: clean up")?;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|t| t.to_string()).collect();
        return Err(format!(
            "record_types: the provider lists types the battery has no sample for: {} \
             (extend switchback_api::testkit::sample)",
            list.join(", ")
        ));
    }
    Ok(())
}

/// TXT values a provider must keep byte for byte: a 255-octet string, several strings, quotes
/// and backslashes, non-ASCII octets, the empty string; one per set, then all in one set, then
/// one of them changed.
pub async fn txt_edge_cases(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !supports(caps, RType::TXT) {
        return skip("txt_edge_cases", "the provider does not list TXT");
    }
    let start = read(p, zone, "txt_edge_cases: initial read").await?;
    let t = ttl(caps, 300);
    let cases = txt_edge_values();
    let singles: Vec<RecordSet> = cases
        .iter()
        .map(|(label, v)| set(zone, label, RType::TXT, t, &[v]))
        .collect();
    let plan = converge(
        p,
        zone,
        &edit(&start, &singles, &[]),
        "txt_edge_cases: one set per case",
    )
    .await?;
    expect_counts(&plan, (singles.len(), 0, 0), "txt_edge_cases")?;
    let values: Vec<&str> = cases.iter().map(|(_, v)| v.as_str()).collect();
    let together = set(zone, "sb-txt-all", RType::TXT, t, &values);
    converge(
        p,
        zone,
        &edit(&start, std::slice::from_ref(&together), &[]),
        "txt_edge_cases: all cases in one set",
    )
    .await?;
    let mut changed = together.clone();
    changed.values.retain(|v| v.data != "\"\"");
    changed
        .values
        .push(RecordValue::new(r#""\"quoted\" \\ again""#));
    changed.normalize();
    let plan = converge(
        p,
        zone,
        &edit(&start, &[changed], &[]),
        "txt_edge_cases: one value of the set changed",
    )
    .await?;
    expect_counts(&plan, (0, 1, 0), "txt_edge_cases: one value changed")?;
    restore(p, zone, &start, "txt_edge_cases: clean up").await
}

/// Weighted sets with set identifiers (only when the provider supports weights): create a
/// pair, shift the weights, change one side's values, delete one side, delete both.
pub async fn weighted(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !caps.weighted.is_yes() {
        return skip("weighted", "the provider does not support weighted sets");
    }
    require(caps, RType::A)?;
    let start = read(p, zone, "weighted: initial read").await?;
    let t = ttl(caps, 60);
    let w = |id: &str, weight: u32, values: &[&str]| {
        let mut rs = set(zone, "sb-weighted", RType::A, t, values);
        rs.set_identifier = Some(id.to_string());
        rs.weight = Some(weight);
        rs
    };
    let plan = converge(
        p,
        zone,
        &edit(
            &start,
            &[
                w("primary", 100, &["192.0.2.1"]),
                w("recovery", 0, &["198.51.100.1"]),
            ],
            &[],
        ),
        "weighted: create a pair",
    )
    .await?;
    expect_counts(&plan, (2, 0, 0), "weighted: create a pair")?;
    let plan = converge(
        p,
        zone,
        &edit(
            &start,
            &[
                w("primary", 50, &["192.0.2.1"]),
                w("recovery", 50, &["198.51.100.1"]),
            ],
            &[],
        ),
        "weighted: 50/50",
    )
    .await?;
    expect_counts(&plan, (0, 2, 0), "weighted: 50/50")?;
    let plan = converge(
        p,
        zone,
        &edit(
            &start,
            &[
                w("primary", 50, &["192.0.2.1"]),
                w("recovery", 50, &["198.51.100.2", "198.51.100.3"]),
            ],
            &[],
        ),
        "weighted: new recovery values",
    )
    .await?;
    expect_counts(&plan, (0, 1, 0), "weighted: new recovery values")?;
    let plan = converge(
        p,
        zone,
        &edit(&start, &[w("primary", 50, &["192.0.2.1"])], &[]),
        "weighted: delete one side",
    )
    .await?;
    expect_counts(&plan, (0, 0, 1), "weighted: delete one side")?;
    let plan = converge(p, zone, &start, "weighted: clean up").await?;
    expect_counts(&plan, (0, 0, 1), "weighted: clean up")
}

/// An A (and AAAA) set replaced by a CNAME at the same name, and back: the plan's order must
/// let a provider that enforces CNAME exclusivity apply it.
pub async fn cname_swap(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !supports(caps, RType::CNAME) || !supports(caps, RType::A) {
        return skip("cname_swap", "the provider does not list both A and CNAME");
    }
    let start = read(p, zone, "cname_swap: initial read").await?;
    let t = ttl(caps, 300);
    let mut addresses = vec![set(zone, "sb-swap", RType::A, t, &["192.0.2.1"])];
    if supports(caps, RType::AAAA) {
        addresses.push(set(zone, "sb-swap", RType::AAAA, t, &["2001:db8::1"]));
    }
    let cname = set(zone, "sb-swap", RType::CNAME, t, &["lb.example.net."]);
    let with_addresses = edit(&start, &addresses, &[]);
    let with_cname = edit(&start, std::slice::from_ref(&cname), &[]);
    converge(p, zone, &with_addresses, "cname_swap: seed addresses").await?;
    let plan = converge(p, zone, &with_cname, "cname_swap: addresses -> CNAME").await?;
    expect_counts(
        &plan,
        (1, 0, addresses.len()),
        "cname_swap: addresses -> CNAME",
    )?;
    let plan = converge(p, zone, &with_addresses, "cname_swap: CNAME -> addresses").await?;
    expect_counts(
        &plan,
        (addresses.len(), 0, 1),
        "cname_swap: CNAME -> addresses",
    )?;
    restore(p, zone, &start, "cname_swap: clean up").await
}

/// After applying a plan, a new plan of live vs desired is empty, whatever the order of the
/// desired sets and values; and two reads give the same zone.
pub async fn idempotent_replan(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "idempotent_replan: initial read").await?;
    let t = ttl(caps, 300);
    let mut add = vec![
        set(
            zone,
            "sb-idem",
            RType::A,
            t,
            &["192.0.2.3", "192.0.2.1", "192.0.2.2"],
        ),
        set(zone, "sb-idem-2", RType::A, t, &["192.0.2.9"]),
    ];
    for (t2, label, values) in [
        (RType::AAAA, "sb-idem", vec!["2001:db8::2", "2001:db8::1"]),
        (
            RType::MX,
            "sb-idem",
            vec!["20 mx2.example.net.", "10 mx1.example.net."],
        ),
        (RType::TXT, "sb-idem", vec!["\"b\"", "\"a\" \"c\""]),
    ] {
        if supports(caps, t2) {
            add.push(set(zone, label, t2, t, &values));
        }
    }
    let desired = edit(&start, &add, &[]);
    converge(p, zone, &desired, "idempotent_replan: apply").await?;
    let live = read(p, zone, "idempotent_replan: read back").await?;
    let mut shuffled = desired.clone();
    shuffled.record_sets.reverse();
    for rs in &mut shuffled.record_sets {
        rs.values.reverse();
    }
    for (what, d) in [("as written", &desired), ("shuffled", &shuffled)] {
        let again = make_plan(p, &live, d, "idempotent_replan")?;
        if !again.is_empty() {
            return Err(format!(
                "idempotent_replan: a re-plan ({what}) is not empty:{}",
                describe(&again.changes)
            ));
        }
    }
    let live2 = read(p, zone, "idempotent_replan: second read").await?;
    if live2 != live {
        return Err(format!(
            "idempotent_replan: two reads without a change differ:{}",
            describe(&plan::diff(&live, &live2, &DiffOptions::default()))
        ));
    }
    restore(p, zone, &start, "idempotent_replan: clean up").await
}

/// Snapshot (read) -> mutate (create, update, delete) -> restore (plan back to the snapshot and
/// apply) -> read again: equal to the snapshot (SOA serial aside).
pub async fn snapshot_restore(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "snapshot_restore: initial read").await?;
    let t = ttl(caps, 300);
    let www = set(
        zone,
        "sb-snap-www",
        RType::A,
        t,
        &["192.0.2.1", "192.0.2.2"],
    );
    let mut seed = vec![www.clone()];
    let gone = if supports(caps, RType::TXT) {
        set(
            zone,
            "sb-snap-txt",
            RType::TXT,
            t,
            &["\"keep me\"", "\"and \\\"me\\\"\""],
        )
    } else {
        set(zone, "sb-snap-txt", RType::A, t, &["192.0.2.50"])
    };
    seed.push(gone.clone());
    if supports(caps, RType::MX) {
        seed.push(set(
            zone,
            "sb-snap-www",
            RType::MX,
            t,
            &["10 mx.example.net."],
        ));
    }
    if caps.weighted.is_yes() {
        for (id, w, v) in [("blue", 90, "192.0.2.10"), ("green", 10, "192.0.2.20")] {
            let mut rs = set(zone, "sb-snap-weighted", RType::A, t, &[v]);
            rs.set_identifier = Some(id.into());
            rs.weight = Some(w);
            seed.push(rs);
        }
    }
    converge(p, zone, &edit(&start, &seed, &[]), "snapshot_restore: seed").await?;
    let snapshot = read(p, zone, "snapshot_restore: snapshot").await?;

    let mut mutated_www = www.clone();
    mutated_www.values = vec![RecordValue::new("198.51.100.1")];
    mutated_www.ttl = ttl(caps, 60);
    let mut add = vec![
        mutated_www,
        set(zone, "sb-snap-new", RType::A, t, &["203.0.113.5"]),
    ];
    if caps.weighted.is_yes() {
        let mut rs = set(zone, "sb-snap-weighted", RType::A, t, &["192.0.2.10"]);
        rs.set_identifier = Some("blue".into());
        rs.weight = Some(0);
        add.push(rs);
    }
    let mutated = edit(&snapshot, &add, &[&gone]);
    let plan = converge(p, zone, &mutated, "snapshot_restore: mutate").await?;
    if plan.is_empty() {
        return Err("snapshot_restore: the mutation planned nothing".into());
    }
    let back = converge(p, zone, &snapshot, "snapshot_restore: restore").await?;
    let (c, u, d) = plan.counts();
    expect_counts(&back, (d, u, c), "snapshot_restore: restore")?;
    let again = read(p, zone, "snapshot_restore: read after restore").await?;
    if !equal_ignoring_soa_serial(&snapshot, &again) {
        return Err(format!(
            "snapshot_restore: the restored zone differs from the snapshot:{}",
            describe(&plan::diff(&again, &snapshot, &opts()))
        ));
    }
    restore(p, zone, &start, "snapshot_restore: clean up").await
}

/// How many record sets [`large_change_set`] creates in one apply.
pub const LARGE: usize = 1500;

/// 1,500 record sets created in one apply (the provider splits it into its own batches), read
/// back, then removed in one apply.
pub async fn large_change_set(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "large_change_set: initial read").await?;
    let t = ttl(caps, 300);
    let add: Vec<RecordSet> = (0..LARGE)
        .map(|i| {
            RecordSet::new(
                rel(zone, &format!("sb-big-{i:04}")),
                RType::A,
                t,
                [format!(
                    "10.{}.{}.{}",
                    i / 65536 % 256,
                    i / 256 % 256,
                    i % 256
                )],
            )
        })
        .collect();
    let plan = converge(
        p,
        zone,
        &edit(&start, &add, &[]),
        "large_change_set: create",
    )
    .await?;
    expect_counts(&plan, (LARGE, 0, 0), "large_change_set: create")?;
    let live = read(p, zone, "large_change_set: read back").await?;
    let n = live
        .record_sets
        .iter()
        .filter(|rs| rs.name.to_string().starts_with("sb-big-"))
        .count();
    if n != LARGE {
        return Err(format!(
            "large_change_set: read back {n} sets sb-big-*, wrote {LARGE}"
        ));
    }
    let plan = converge(p, zone, &start, "large_change_set: remove").await?;
    expect_counts(&plan, (0, 0, LARGE), "large_change_set: remove")
}

/// A change set whose `before` no longer matches the live zone (someone else changed a set
/// after the plan was made) fails, and changes nothing (providers with atomic batches only).
pub async fn stale_before_fails(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !caps.atomic_batches.is_yes() {
        return skip(
            "stale_before_fails",
            "the provider does not claim atomic batches",
        );
    }
    require(caps, RType::A)?;
    let start = read(p, zone, "stale_before_fails: initial read").await?;
    let t = ttl(caps, 300);
    let x = set(zone, "sb-stale", RType::A, t, &["192.0.2.1"]);
    let z = set(zone, "sb-stale-del", RType::A, t, &["192.0.2.5"]);
    let seeded = edit(&start, &[x.clone(), z.clone()], &[]);
    converge(p, zone, &seeded, "stale_before_fails: seed").await?;

    // Case 1: a stale update. The plan: create Y, update X, delete Z; then X changes.
    let live = read(p, zone, "stale_before_fails: read").await?;
    let desired = edit(
        &live,
        &[
            set(zone, "sb-stale", RType::A, t, &["192.0.2.2"]),
            set(zone, "sb-stale-new", RType::A, t, &["192.0.2.7"]),
        ],
        &[&z],
    );
    let stale = make_plan(p, &live, &desired, "stale_before_fails: plan")?;
    expect_counts(&stale, (1, 1, 1), "stale_before_fails: plan")?;
    let meanwhile = edit(
        &live,
        &[set(zone, "sb-stale", RType::A, t, &["192.0.2.3"])],
        &[],
    );
    converge(p, zone, &meanwhile, "stale_before_fails: concurrent change").await?;
    expect_refused(p, zone, &stale.changes, "stale update").await?;

    // Case 2: a stale delete. The plan: create W, delete Z; then Z changes.
    let live = read(p, zone, "stale_before_fails: read").await?;
    let desired = edit(
        &live,
        &[set(zone, "sb-stale-w", RType::A, t, &["192.0.2.8"])],
        &[&z],
    );
    let stale = make_plan(p, &live, &desired, "stale_before_fails: plan 2")?;
    expect_counts(&stale, (1, 0, 1), "stale_before_fails: plan 2")?;
    let changed_z = set(
        zone,
        "sb-stale-del",
        RType::A,
        ttl(caps, 600),
        &["192.0.2.5"],
    );
    let meanwhile = edit(&live, &[changed_z], &[]);
    converge(
        p,
        zone,
        &meanwhile,
        "stale_before_fails: concurrent change 2",
    )
    .await?;
    expect_refused(p, zone, &stale.changes, "stale delete").await?;

    // Case 3: an update of a set someone else deleted.
    let live = read(p, zone, "stale_before_fails: read").await?;
    let x_now = live
        .get(&x.key())
        .cloned()
        .ok_or("stale_before_fails: sb-stale vanished")?;
    let mut x_next = x_now.clone();
    x_next.values = vec![RecordValue::new("192.0.2.4")];
    let stale = vec![
        Change::Create {
            after: set(zone, "sb-stale-v", RType::A, t, &["192.0.2.9"]),
        },
        Change::Update {
            before: x_now.clone(),
            after: x_next,
        },
    ];
    converge(
        p,
        zone,
        &edit(&live, &[], &[&x_now]),
        "stale_before_fails: concurrent delete",
    )
    .await?;
    expect_refused(p, zone, &stale, "update of a deleted set").await?;

    restore(p, zone, &start, "stale_before_fails: clean up").await
}

pub(super) async fn expect_refused(
    p: &dyn Provider,
    zone: &Name,
    changes: &[Change],
    what: &str,
) -> Result<(), String> {
    let before = read(p, zone, "stale_before_fails: read").await?;
    if p.apply(zone, changes).await.is_ok() {
        return Err(format!(
            "stale_before_fails: a change set with a {what} was applied; it must fail:{}",
            describe(changes)
        ));
    }
    let after = read(p, zone, "stale_before_fails: read after the failed apply").await?;
    if after != before {
        return Err(format!(
            "stale_before_fails: the failed apply ({what}) changed the zone:{}",
            describe(&plan::diff(&before, &after, &DiffOptions::default()))
        ));
    }
    Ok(())
}
