#![cfg(feature = "testkit")]
//! The battery must catch broken providers: each wrapper below breaks one promise of
//! `MemoryProvider`, and the battery item that covers it must fail.

use async_trait::async_trait;
use switchback_api::testkit::{self, MemoryProvider};
use switchback_api::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, RType, Zone, ZoneRef,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Applies without checking `before` (an upsert/blind delete), one change at a time.
    NoBeforeCheck,
    /// Loses backslash escapes in TXT values on read.
    LossyTxt,
    /// Forgets weights on read.
    DropsWeights,
    /// Fails change sets above 1,000 changes instead of batching.
    SmallBatches,
    /// Reads TTLs rounded down to a multiple of 60.
    RoundsTtl,
}

struct Broken {
    inner: MemoryProvider,
    flaw: Flaw,
}

#[async_trait]
impl Provider for Broken {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        self.inner.list_zones().await
    }
    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        let mut z = self.inner.read_zone(zone).await?;
        for rs in &mut z.record_sets {
            match self.flaw {
                Flaw::LossyTxt if rs.rtype == RType::TXT => {
                    for v in &mut rs.values {
                        v.data = v.data.replace("\\\\", "");
                    }
                }
                Flaw::DropsWeights => rs.weight = None,
                Flaw::RoundsTtl => rs.ttl -= rs.ttl % 60,
                _ => {}
            }
        }
        Ok(z)
    }
    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        match self.flaw {
            Flaw::SmallBatches if changes.len() > 1000 => {
                Err(ProviderError::Other("too many changes".into()))
            }
            Flaw::NoBeforeCheck => {
                for c in changes {
                    let live = self.inner.read_zone(zone).await?;
                    let blind = match c {
                        Change::Create { .. } => c.clone(),
                        Change::Update { after, .. } => match live.get(&after.key()) {
                            Some(cur) => Change::Update {
                                before: cur.clone(),
                                after: after.clone(),
                            },
                            None => Change::Create {
                                after: after.clone(),
                            },
                        },
                        Change::Delete { before } => match live.get(&before.key()) {
                            Some(cur) => Change::Delete {
                                before: cur.clone(),
                            },
                            None => continue,
                        },
                    };
                    self.inner.apply(zone, &[blind]).await?;
                }
                Ok(ApplyReport::default())
            }
            _ => self.inner.apply(zone, changes).await,
        }
    }
}

fn check(flaw: Flaw, item: &str) {
    let zone: Name = "broken.example.".parse().unwrap();
    let p = Broken {
        inner: MemoryProvider::with_empty_zone("broken", &zone),
        flaw,
    };
    let rt = switchback_api::__private::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(async {
        match item {
            "stale_before_fails" => testkit::stale_before_fails(&p, &zone).await,
            "txt_edge_cases" => testkit::txt_edge_cases(&p, &zone).await,
            "weighted" => testkit::weighted(&p, &zone).await,
            "large_change_set" => testkit::large_change_set(&p, &zone).await,
            "update" => testkit::update(&p, &zone).await,
            _ => unreachable!(),
        }
    });
    let e = r.expect_err("the battery passed a broken provider");
    assert!(
        e.contains(item) || e.contains(item.split('_').next().unwrap()),
        "{e}"
    );
}

#[test]
fn catches_blind_writes() {
    check(Flaw::NoBeforeCheck, "stale_before_fails");
}

#[test]
fn catches_lossy_txt() {
    check(Flaw::LossyTxt, "txt_edge_cases");
}

#[test]
fn catches_lost_weights() {
    check(Flaw::DropsWeights, "weighted");
}

#[test]
fn catches_small_batches() {
    check(Flaw::SmallBatches, "large_change_set");
}

#[test]
fn catches_rounded_ttls() {
    check(Flaw::RoundsTtl, "update");
}

#[test]
fn all_runs_every_item_on_one_zone() {
    let zone: Name = "all.example.".parse().unwrap();
    let p = MemoryProvider::with_empty_zone("memory", &zone);
    let start = p.zone(&zone).unwrap();
    testkit::run("all", testkit::all(&p, &zone));
    assert!(testkit::equal_ignoring_soa_serial(
        &start,
        &p.zone(&zone).unwrap()
    ));
    assert!(p.applies() > 50);
}
