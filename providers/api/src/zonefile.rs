//! RFC 1035 master files: reading (with `file:line` errors) and writing.
