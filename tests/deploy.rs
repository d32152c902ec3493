//! deploy/: the example config (every key present and documented, accepted by the binary),
//! the Kubernetes ConfigMap's config and zone, the manifests' shape, the container file, and the
//! systemd unit (`systemd-analyze verify` where it is installed).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn deploy(rel: &str) -> PathBuf {
    common::repo_root().join("deploy").join(rel)
}

fn read(rel: &str) -> String {
    let p = deploy(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn switchback(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchback"))
        .current_dir(dir)
        .args(args)
        .env_remove("SWITCHBACK_FAULT")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = switchback(dir, args);
    assert!(
        o.status.success(),
        "switchback {args:?} failed ({:?}):\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `config` with its packaged paths pointed into `dir` (zones copied there), written to
/// `dir/switchback.toml`; `cutover list` and `zone check` must accept it. Returns the list.
fn accepted(config: &str, zones: &[(String, String)], dir: &Path) -> Value {
    let zdir = dir.join("zones");
    fs::create_dir_all(&zdir).unwrap();
    for (name, text) in zones {
        fs::write(zdir.join(name), text).unwrap();
    }
    assert!(config.contains("\"/etc/switchback/zones\""), "{config}");
    assert!(
        config.contains("\"/var/lib/switchback/state.db\""),
        "{config}"
    );
    let text = config
        .replace("\"/etc/switchback/zones\"", "\"zones\"")
        .replace("\"/var/lib/switchback/state.db\"", "\"state/state.db\"");
    let cfg = dir.join("switchback.toml");
    fs::write(&cfg, text).unwrap();
    let cfg = cfg.to_str().unwrap();
    ok(dir, &["-c", cfg, "zone", "check", "zones"]);
    serde_json::from_str(&ok(dir, &["-c", cfg, "--json", "cutover", "list"])).unwrap()
}

fn repo_zones() -> Vec<(String, String)> {
    let dir = common::repo_root().join("zones");
    fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".zone"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn example_config_is_accepted_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let list = accepted(&read("switchback.toml"), &repo_zones(), dir.path());
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["name"], "web");
    assert_eq!(rows[0]["state"], "idle");
}

#[test]
fn example_config_provider_tables_are_valid() {
    let cfg: toml::Table = toml::from_str(&read("switchback.toml")).unwrap();
    let providers = cfg["providers"].as_table().unwrap();
    let settings = |name: &str, kind: &str| {
        let mut t = providers[name].as_table().unwrap().clone();
        assert_eq!(t.remove("type").unwrap().as_str(), Some(kind));
        toml::Value::Table(t)
    };
    assert!(settings("site", "builtin").as_table().unwrap().is_empty());
    let r53: switchback_route53::Route53Config = settings("aws", "route53").try_into().unwrap();
    r53.validate().unwrap();
    let cf: switchback_cloudflare::CloudflareConfig =
        settings("cf", "cloudflare").try_into().unwrap();
    cf.validate().unwrap();
}

/// Every key of the schema (src/config.rs, src/health/spec.rs and the providers' config
/// types) appears in the example, set or commented out, with a comment above it.
#[test]
fn example_config_documents_every_key() {
    let text = read("switchback.toml");
    let keys: &[&str] = &[
        // [server]
        "dns",
        "api",
        "zones",
        "state",
        "allow_transfer",
        "notify",
        "udp_workers",
        "rrl",
        "enabled",
        "responses_per_second",
        "slip",
        "exempt",
        "node",
        "tcp_per_client",
        "tcp_max",
        // [api]
        "token_env",
        "webhook_secret_env",
        "rate_per_second",
        "burst",
        // [providers.*]
        "type",
        "endpoint",
        "region",
        "profile",
        "assume_role_arn",
        "rate",
        "max_batch_records",
        "account_id",
        "batch_size",
        // [[cutover]]
        "name",
        "provider",
        "zone",
        "steering",
        "failback_stages",
        "soak",
        "auto_failover",
        "auto_failback",
        "health",
        "hold_down",
        "ttl",
        "rto_target",
        "verify_ns",
        "drill_soak",
        "drill_every",
        "recovery_health",
        // [[notify]]
        "url",
        "events",
        "secret_env",
        "format",
        // [[cutover.record]]
        "recovery",
        // health = {...}
        "check",
        "interval",
        "timeout",
        "fall",
        "rise",
        "expect_status",
        "expect_body",
        "expect_answer",
        "host",
        "tls_verify",
    ];
    let lines: Vec<&str> = text.lines().collect();
    for key in keys {
        let at = lines
            .iter()
            .position(|l| {
                let l = l.trim_start_matches('#').trim();
                l.starts_with(&format!("{key} =")) || l.starts_with(&format!("{key} "))
            })
            // A key of an inline table (`rrl = { responses_per_second = 50, … }`).
            .or_else(|| lines.iter().position(|l| l.contains(&format!(" {key} = "))));
        let Some(at) = at else {
            panic!("deploy/switchback.toml does not mention the key `{key}`")
        };
        // A key line is preceded by a comment (or is itself inside the health comment block).
        assert!(
            lines[..=at]
                .iter()
                .rev()
                .take(3)
                .any(|l| l.starts_with('#')),
            "`{key}` (line {}) has no comment",
            at + 1
        );
    }
}

/// The value of `key: |` in a ConfigMap's `data:` (a literal block, indented 4 spaces).
fn configmap_block(yaml: &str, key: &str) -> String {
    let head = format!("  {key}: |");
    let mut lines = yaml.lines().skip_while(|l| *l != head);
    assert!(lines.next().is_some(), "no `{head}` in the ConfigMap");
    let mut out = String::new();
    for l in lines {
        if l.is_empty() {
            out.push('\n');
        } else if let Some(rest) = l.strip_prefix("    ") {
            out.push_str(rest);
            out.push('\n');
        } else {
            break;
        }
    }
    out
}

#[test]
fn kubernetes_configmap_config_and_zone_are_accepted() {
    let yaml = read("kubernetes/configmap.yaml");
    let config = configmap_block(&yaml, "switchback.toml");
    let zone = configmap_block(&yaml, "example.com.zone");
    assert!(config.contains("api = \"0.0.0.0:8053\""), "{config}");
    assert!(config.contains("token_env = \"SWITCHBACK_API_TOKEN\""));
    let dir = tempfile::tempdir().unwrap();
    let list = accepted(&config, &[("example.com.zone".into(), zone)], dir.path());
    assert_eq!(list[0]["name"], "web", "{list}");
}

/// Each manifest splits into documents with top-level `apiVersion` and `kind`; PyYAML parses
/// them too where python3 has it.
#[test]
fn kubernetes_manifests_have_the_expected_objects() {
    let dir = deploy("kubernetes");
    let mut kinds = Vec::new();
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        assert!(!text.contains('\t'), "{}: a tab", f.display());
        for doc in text.split("\n---\n") {
            let top = |k: &str| {
                doc.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .map(str::trim)
                    .unwrap_or_else(|| panic!("{}: a document without `{k}`", f.display()))
                    .to_string()
            };
            let (api, kind) = (top("apiVersion"), top("kind"));
            assert!(api == "v1" || api == "apps/v1", "{}: {api}", f.display());
            assert!(
                doc.contains("\nmetadata:\n  name: switchback"),
                "{kind}: no name"
            );
            kinds.push(kind);
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "PersistentVolumeClaim",
            "Secret",
            "Service"
        ]
    );

    let svc = read("kubernetes/service.yaml");
    for p in [
        "protocol: UDP\n      port: 53",
        "protocol: TCP\n      port: 53",
    ] {
        assert!(svc.contains(p), "service.yaml lacks {p:?}");
    }
    assert!(svc.contains("port: 8053"));
    let dep = read("kubernetes/deployment.yaml");
    assert_eq!(dep.matches("path: /healthz").count(), 2, "two probes");
    for s in [
        "runAsNonRoot: true",
        "add: [\"NET_BIND_SERVICE\"]",
        "drop: [\"ALL\"]",
        "secretRef:",
        "name: switchback-secrets",
        "name: switchback-config",
        "claimName: switchback-state",
    ] {
        assert!(dep.contains(s), "deployment.yaml lacks {s:?}");
    }
    assert!(read("kubernetes/secret.yaml").contains("REPLACE-ME"));

    // A real YAML parser, when there is one.
    let script = "import sys, yaml\n\
                  for f in sys.argv[1:]:\n\
                  \x20   for d in yaml.safe_load_all(open(f)):\n\
                  \x20       assert d['apiVersion'] and d['kind'] and d['metadata']['name'], f\n";
    match Command::new("python3")
        .args(["-c", "import yaml"])
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {
            let o = Command::new("python3")
                .arg("-c")
                .arg(script)
                .args(&files)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "PyYAML: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        _ => common::peers::unavailable(
            "pyyaml",
            "python3 cannot import yaml: python3 -m pip install pyyaml",
        ),
    }
}

#[test]
fn containerfile_is_multi_stage_and_non_root() {
    let text = read("Containerfile");
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("rust:") && froms[0].ends_with(" AS build"));
    assert!(froms[1].contains("debian:bookworm-slim"));
    for s in [
        "cargo build --release --locked",
        "ca-certificates",
        "USER switchback",
        "EXPOSE 53/udp 53/tcp 8053/tcp",
        "COPY --from=build",
    ] {
        assert!(text.contains(s), "Containerfile lacks {s:?}");
    }
    // Every path it copies from the repository exists.
    for l in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let words: Vec<&str> = l.split_whitespace().collect();
        for src in &words[1..words.len() - 1] {
            assert!(
                common::repo_root().join(src).exists(),
                "Containerfile copies {src}, which does not exist"
            );
        }
    }
}

#[test]
fn systemd_unit_is_hardened() {
    let unit = read("switchback.service");
    for line in [
        "DynamicUser=yes",
        "StateDirectory=switchback",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "EnvironmentFile=-/etc/switchback/env",
        "ExecStart=/usr/local/bin/switchback -c /etc/switchback/switchback.toml serve",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "switchback.service lacks `{line}`"
        );
    }
    // The packaged config keeps its state where StateDirectory= puts it.
    assert!(read("switchback.toml").contains("state = \"/var/lib/switchback/state.db\""));
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let Some(analyze) = common::peers::tool("systemd-analyze") else {
        return;
    };
    // verify needs ExecStart to exist: a copy that runs the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let unit = read("switchback.service").replace(
        "ExecStart=/usr/local/bin/switchback ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_switchback")),
    );
    let path = dir.path().join("switchback.service");
    fs::write(&path, unit).unwrap();
    let o = Command::new(&analyze)
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    // An unknown key or a bad value is only a warning (exit 0): any line about the unit fails.
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("switchback.service"))
        .collect();
    assert!(
        o.status.success() && about_unit.is_empty(),
        "systemd-analyze verify ({:?}):\n{stderr}",
        o.status
    );
    eprintln!("systemd-analyze verify deploy/switchback.service: ok");
}
