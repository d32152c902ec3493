//! Waiting for something a peer or a server does, with a limit and a message.

use std::time::{Duration, Instant};

/// Poll `f` every 20 ms until it holds; panics naming `what` after `limit`. How long it took.
pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

/// The top of a knotd config in `dir` (created: `run/`, `db/`, `zones/`): listening on
/// 127.0.0.1@`port`, its rundir, database and log (`dir/knot.log`) there, as root when the
/// tests are root. The caller adds keys, ACLs, templates and zones.
pub fn knot_config_head(dir: &std::path::Path, port: u16) -> String {
    for d in ["run", "db", "zones"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let user = if crate::peers::running_as_root() {
        "    user: root:root\n"
    } else {
        ""
    };
    format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: \"{run}\"\n{user}\
         database:\n    storage: \"{db}\"\n\
         log:\n  - target: \"{log}\"\n    any: info\n",
        run = dir.join("run").display(),
        db = dir.join("db").display(),
        log = dir.join("knot.log").display(),
    )
}
