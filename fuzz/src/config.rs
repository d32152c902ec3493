//! The config target: the bytes as `switchback.toml`. An error names the file; a config that
//! loads resolves every cutover, the transfer ACL, RRL and the health checks without error
//! (everything `serve` and the commands read later was checked at load).

use std::path::Path;

use switchback::config::Config;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent/switchback-fuzz/switchback.toml");
    match Config::parse(text, path) {
        Err(e) => {
            let shown = e.to_string();
            assert!(
                shown.contains("switchback.toml"),
                "an error that does not name the file: {shown:?} for {text:?}"
            );
        }
        Ok(cfg) => {
            cfg.all_cutovers()
                .unwrap_or_else(|e| panic!("loaded, then a cutover fails: {e} for {text:?}"));
            cfg.allow_transfer()
                .unwrap_or_else(|e| panic!("loaded, then the ACL fails: {e} for {text:?}"));
            cfg.rrl()
                .unwrap_or_else(|e| panic!("loaded, then RRL fails: {e} for {text:?}"));
            let _ = cfg.health_checks();
        }
    }
}
