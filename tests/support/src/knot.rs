//! knotd as a peer a test configures itself (a secondary of the built-in server, a catalog
//! consumer): the config's head from [`crate::wait::knot_config_head`], the primary as a
//! remote with the ACL its NOTIFYs pass, and the process, killed on drop.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running knotd, killed (and reaped) on drop.
pub struct KnotProcess(Child);

impl Drop for KnotProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `remote` `switchback` at `primary` and `acl` `notify_from_switchback` (127.0.0.1), each
/// with `key_line` (`    key: NAME\n`, or empty).
pub fn primary_remote(primary: SocketAddr, key_line: &str) -> String {
    format!(
        "remote:\n  - id: switchback\n    address: {}@{}\n{key_line}\
         acl:\n  - id: notify_from_switchback\n    address: 127.0.0.1\n{key_line}    action: notify\n",
        primary.ip(),
        primary.port()
    )
}

/// Start knotd listening on `port` with the config head, then `rest`, written to
/// `dir/knot.conf`; its stderr goes to `dir/knotd.stderr`, its log to `dir/knot.log`.
pub fn spawn(knotd: &Path, dir: &Path, port: u16, rest: &str) -> KnotProcess {
    let head = crate::wait::knot_config_head(dir, port);
    let path = dir.join("knot.conf");
    std::fs::write(&path, format!("{head}{rest}")).expect("write knot.conf");
    let stderr = std::fs::File::create(dir.join("knotd.stderr")).expect("knotd.stderr");
    KnotProcess(
        Command::new(knotd)
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn knotd"),
    )
}
