//! This machine and its user, as the lease, `[server] node` and the audit log name them.

/// The machine's host name (the kernel's, so every process on it agrees).
pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `$USER@host` (the host from `$HOSTNAME`, else [`hostname`]), for the audit log.
pub fn actor() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    // A container's HOSTNAME (set by the runtime) names it better than the kernel's.
    let host = std::env::var("HOSTNAME")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(hostname);
    format!("{user}@{host}")
}
