//! Plain Route 53 SDK calls against an emulator: to set up zones and records the provider then
//! reads, and to show what the emulator accepts.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{
    Change as NChange, ChangeAction, ChangeBatch, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Vpc, VpcRegion,
};

/// The access key and secret the tests use (the emulators accept anything).
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

/// The tests' static credentials.
pub fn credentials() -> Credentials {
    Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "switchback-tests")
}

/// A plain SDK client on an endpoint.
pub fn sdk(endpoint: &str) -> aws_sdk_route53::Client {
    let conf = aws_sdk_route53::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_route53::Client::from_conf(conf)
}

/// Creates a hosted zone named `name` (private when `vpc` is given); returns its id (without
/// `/hostedzone/`).
pub async fn create_zone(
    client: &aws_sdk_route53::Client,
    name: &impl std::fmt::Display,
    vpc: Option<&str>,
) -> String {
    let name = name.to_string();
    static REF: AtomicUsize = AtomicUsize::new(0);
    let mut req = client
        .create_hosted_zone()
        .name(&name)
        .caller_reference(format!(
            "sb-{}-{}-{}",
            std::process::id(),
            REF.fetch_add(1, Ordering::SeqCst),
            name
        ));
    if let Some(v) = vpc {
        req = req
            .vpc(
                Vpc::builder()
                    .vpc_id(v)
                    .vpc_region(VpcRegion::UsEast1)
                    .build(),
            )
            .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build());
    }
    let out = req.send().await.expect("create hosted zone");
    let id = out.hosted_zone().expect("the new hosted zone").id();
    id.strip_prefix("/hostedzone/").unwrap_or(id).to_string()
}

/// A native record set.
pub fn rrs(name: &str, t: RrType, ttl: Option<i64>, values: &[&str]) -> ResourceRecordSet {
    let mut b = ResourceRecordSet::builder()
        .name(name)
        .r#type(t)
        .set_ttl(ttl);
    for v in values {
        b = b.resource_records(
            ResourceRecord::builder()
                .value(*v)
                .build()
                .expect("a resource record"),
        );
    }
    b.build().expect("a record set")
}

/// One `ChangeResourceRecordSets` call with `changes`; the SDK's error text on failure.
pub async fn raw(
    client: &aws_sdk_route53::Client,
    zone_id: &str,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
) -> Result<(), String> {
    let changes = changes
        .into_iter()
        .map(|(a, r)| {
            NChange::builder()
                .action(a)
                .resource_record_set(r)
                .build()
                .expect("a change")
        })
        .collect();
    client
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .expect("a change batch"),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_route53::error::DisplayErrorContext(e).to_string())
}
