//! The built-in authoritative DNS server.
