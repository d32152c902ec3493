//! The Cloudflare API v4 provider (being written).
