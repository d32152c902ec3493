//! Zones by name or hosted zone id; a public and a private zone of the same name told apart.

mod common;

use common::Kind;
use switchback_api::{Change, Name, Provider, ProviderError, RType, RecordSet};

#[tokio::test]
async fn zones_by_name_or_id_public_and_private_told_apart() {
    let Some(emu) = common::Emulator::start(Kind::Ministack) else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let dup = common::unique_zone("dup");
    let public = common::create_zone(&sdk, &dup, None).await;
    let private = common::create_zone(&sdk, &dup, Some("vpc-0a1b2c3d")).await;
    let single = common::unique_zone("single");
    let single_id = common::create_zone(&sdk, &single, None).await;
    let p = common::provider(&emu.endpoint(), 200);

    // Listing shows every zone with its id.
    let zones = p.list_zones().await.unwrap();
    for id in [&public, &private, &single_id] {
        assert!(zones.iter().any(|z| &z.id == id), "{id} not in {zones:?}");
    }

    // A unique name resolves; an unknown one is not found.
    assert_eq!(p.read_zone(&single).await.unwrap().origin, single);
    let none: Name = "no-such-zone.test.".parse().unwrap();
    assert!(matches!(
        p.read_zone(&none).await,
        Err(ProviderError::ZoneNotFound(_))
    ));

    // The shared name is refused, listing both candidates.
    let e = p.read_zone(&dup).await.unwrap_err().to_string();
    for want in [
        public.as_str(),
        private.as_str(),
        "public",
        "private",
        "hosted zone id",
    ] {
        assert!(e.contains(want), "{e:?} does not mention {want}");
    }

    // By id: as a zone "name" (as the CLI and config pass it), or through resolve().
    for id in [&public, &private] {
        let as_name: Name = format!("{id}.").parse().unwrap();
        let z = p.read_zone(&as_name).await.unwrap();
        assert_eq!(z.origin, dup);
        assert_eq!(
            p.resolve(&format!("/hostedzone/{id}")).await.unwrap(),
            (id.clone(), dup.clone())
        );
        assert_eq!(p.resolve(id).await.unwrap(), (id.clone(), dup.clone()));
    }

    // Writes go to the zone the id names, and only there.
    let pub_name: Name = format!("{public}.").parse().unwrap();
    let priv_name: Name = format!("{private}.").parse().unwrap();
    let rs = RecordSet::new(
        Name::parse("internal", Some(&dup)).unwrap(),
        RType::A,
        60,
        ["10.0.0.1".to_string()],
    );
    p.apply(&priv_name, &[Change::Create { after: rs.clone() }])
        .await
        .unwrap();
    assert_eq!(
        p.read_zone(&priv_name).await.unwrap().get(&rs.key()),
        Some(&rs)
    );
    assert_eq!(p.read_zone(&pub_name).await.unwrap().get(&rs.key()), None);
}
