//! The AWS Route 53 provider (being written).
