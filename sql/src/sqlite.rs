//! Statements on the embedded SQLite backend.

use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::{Row, SqlError, ToValue, Value};

/// A parameter as SQLite binds it: a text borrowed from the caller (SQLite makes its own
/// copy), anything else as a value.
struct Param<'a>(&'a dyn ToValue);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self.0.as_text() {
            Some(t) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes()))),
            None => match self.0.to_value() {
                Value::Null => Ok(ToSqlOutput::Owned(rusqlite::types::Value::Null)),
                Value::Int(n) => Ok(ToSqlOutput::Owned(rusqlite::types::Value::Integer(n))),
                Value::Text(s) => Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(s))),
            },
        }
    }
}

fn values<'a>(params: &'a [&'a dyn ToValue]) -> impl Iterator<Item = Param<'a>> {
    params.iter().map(|p| Param(*p))
}

/// A text parameter this long is bound in place ([`unbuffered`]): a zone's or a plan's JSON.
const BIG_TEXT: usize = 64 * 1024;

fn has_big_text(params: &[&dyn ToValue]) -> bool {
    params
        .iter()
        .any(|p| p.as_text().is_some_and(|t| t.len() >= BIG_TEXT))
}

pub(crate) fn execute(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: &[&dyn ToValue],
) -> Result<u64, SqlError> {
    if has_big_text(params) {
        return unbuffered(tx, sql, params, |_| Ok(()));
    }
    let mut stmt = tx.prepare_cached(sql)?;
    let n = stmt.execute(rusqlite::params_from_iter(values(params)))?;
    Ok(n as u64)
}

pub(crate) fn query(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: &[&dyn ToValue],
) -> Result<Vec<Row>, SqlError> {
    if has_big_text(params) {
        let mut out = Vec::new();
        unbuffered(tx, sql, params, |row| {
            out.push(row);
            Ok(())
        })?;
        return Ok(out);
    }
    let mut stmt = tx.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(values(params)))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(columns);
        for i in 0..columns {
            row.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Int(n),
                ValueRef::Text(t) => Value::Text(
                    std::str::from_utf8(t)
                        .map_err(|e| SqlError::Type {
                            column: i,
                            message: format!("not UTF-8: {e}"),
                        })?
                        .to_string(),
                ),
                ValueRef::Real(f) if f.fract() == 0.0 => Value::Int(f as i64),
                ValueRef::Real(_) | ValueRef::Blob(_) => {
                    return Err(SqlError::Type {
                        column: i,
                        message: "a real or a blob: not a type of this schema".into(),
                    });
                }
            });
        }
        out.push(Row(row));
    }
    Ok(out)
}

/// A statement with its texts bound in place (`SQLITE_STATIC`): rusqlite binds every text as
/// `SQLITE_TRANSIENT`, which makes SQLite copy it first, and a zone's JSON written that way was
/// held three times at once (ours, the bound copy, the record SQLite builds). Calls `row` with
/// each result row; returns the changes made.
fn unbuffered(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: &[&dyn ToValue],
    mut row: impl FnMut(Row) -> Result<(), SqlError>,
) -> Result<u64, SqlError> {
    use rusqlite::ffi;
    use std::os::raw::{c_char, c_int};

    /// Finalizes the statement on every path out.
    struct Stmt(*mut ffi::sqlite3_stmt);
    impl Drop for Stmt {
        fn drop(&mut self) {
            // SAFETY: the statement was prepared on this connection and is finalized once.
            unsafe {
                ffi::sqlite3_finalize(self.0);
            }
        }
    }
    // SAFETY: the handle is the transaction's own connection, used on this thread only for
    // the length of this call (the transaction borrows it).
    let db = unsafe { tx.handle() };
    let fail = |rc: c_int| -> SqlError {
        // SAFETY: `db` is open; sqlite3_errmsg returns a NUL-terminated string it owns.
        let msg = unsafe { std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
            .to_string_lossy()
            .into_owned();
        SqlError::Sqlite(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some(msg),
        ))
    };
    let len = c_int::try_from(sql.len()).map_err(|_| fail(ffi::SQLITE_TOOBIG))?;
    let mut raw = std::ptr::null_mut();
    // SAFETY: `sql` is valid for `len` bytes; `raw` receives the statement or NULL.
    let rc = unsafe {
        ffi::sqlite3_prepare_v2(
            db,
            sql.as_ptr().cast::<c_char>(),
            len,
            &mut raw,
            std::ptr::null_mut(),
        )
    };
    let stmt = Stmt(raw);
    if rc != ffi::SQLITE_OK || stmt.0.is_null() {
        return Err(fail(rc));
    }
    let mut owned = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let at = c_int::try_from(i + 1).map_err(|_| fail(ffi::SQLITE_RANGE))?;
        let text = match p.as_text() {
            Some(t) => Some(t),
            None => match p.to_value() {
                Value::Text(t) => {
                    owned.push(t);
                    owned.last().map(String::as_str)
                }
                Value::Null => None,
                Value::Int(n) => {
                    // SAFETY: a prepared statement and an index within its parameters.
                    let rc = unsafe { ffi::sqlite3_bind_int64(stmt.0, at, n) };
                    if rc != ffi::SQLITE_OK {
                        return Err(fail(rc));
                    }
                    continue;
                }
            },
        };
        // SAFETY: the text outlives the statement (the caller's parameters, or `owned`,
        // both dropped after `stmt` is finalized), so SQLITE_STATIC is sound.
        let rc = unsafe {
            match text {
                Some(t) => ffi::sqlite3_bind_text64(
                    stmt.0,
                    at,
                    t.as_ptr().cast::<c_char>(),
                    t.len() as ffi::sqlite3_uint64,
                    ffi::SQLITE_STATIC(),
                    ffi::SQLITE_UTF8 as u8,
                ),
                None => ffi::sqlite3_bind_null(stmt.0, at),
            }
        };
        if rc != ffi::SQLITE_OK {
            return Err(fail(rc));
        }
    }
    loop {
        // SAFETY: a prepared statement with every parameter bound.
        match unsafe { ffi::sqlite3_step(stmt.0) } {
            ffi::SQLITE_DONE => break,
            ffi::SQLITE_ROW => {
                // SAFETY: the statement is on a row: its columns can be read.
                let columns = unsafe { ffi::sqlite3_column_count(stmt.0) };
                let mut values = Vec::with_capacity(usize::try_from(columns).unwrap_or(0));
                for c in 0..columns {
                    let column = usize::try_from(c).unwrap_or(0);
                    // SAFETY: `c` is a column of the current row; a text's pointer and length
                    // are read before anything else touches the row.
                    let value = unsafe {
                        match ffi::sqlite3_column_type(stmt.0, c) {
                            ffi::SQLITE_NULL => Value::Null,
                            ffi::SQLITE_INTEGER => Value::Int(ffi::sqlite3_column_int64(stmt.0, c)),
                            ffi::SQLITE_TEXT => {
                                let p = ffi::sqlite3_column_text(stmt.0, c);
                                let n = ffi::sqlite3_column_bytes(stmt.0, c);
                                let bytes = if p.is_null() {
                                    &[][..]
                                } else {
                                    std::slice::from_raw_parts(p, usize::try_from(n).unwrap_or(0))
                                };
                                Value::Text(
                                    std::str::from_utf8(bytes)
                                        .map_err(|e| SqlError::Type {
                                            column,
                                            message: format!("not UTF-8: {e}"),
                                        })?
                                        .to_string(),
                                )
                            }
                            ffi::SQLITE_FLOAT
                                if ffi::sqlite3_column_double(stmt.0, c).fract() == 0.0 =>
                            {
                                Value::Int(ffi::sqlite3_column_double(stmt.0, c) as i64)
                            }
                            _ => {
                                return Err(SqlError::Type {
                                    column,
                                    message: "a real or a blob: not a type of this schema".into(),
                                });
                            }
                        }
                    };
                    values.push(value);
                }
                row(Row(values))?;
            }
            rc => return Err(fail(rc)),
        }
    }
    // SAFETY: `db` is open.
    let changes = unsafe { ffi::sqlite3_changes64(db) };
    Ok(u64::try_from(changes).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use crate::{Db, SqlError, params};

    fn db() -> Db {
        let db = Db::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        db.write(|tx| {
            tx.execute(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT, n BIGINT)",
                params![],
            )
        })
        .unwrap();
        db
    }

    /// A big text goes through the in-place binding: written, returned by RETURNING and read
    /// back the same; small parameters beside it too; errors are SQLite's, with its message.
    #[test]
    fn big_texts_are_bound_in_place_and_read_back_the_same() {
        let db = db();
        let big: String = (0..200_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let with_escapes = format!("{big}\u{e9}\"'\\");
        let id = db
            .write(|tx| {
                tx.query_one(
                    "INSERT INTO t (k, v, n) VALUES (?1, ?2, ?3) RETURNING id, n, k",
                    params!["one", with_escapes, 7i64],
                )
            })
            .unwrap();
        assert_eq!((id.int(0).unwrap(), id.int(1).unwrap()), (1, 7));
        assert_eq!(id.str(2).unwrap(), "one");
        let back = db
            .read(|tx| tx.query_one("SELECT v FROM t WHERE k = ?1", params!["one"]))
            .unwrap();
        assert_eq!(back.str(0).unwrap(), with_escapes);
        let changed = db
            .write(|tx| {
                tx.execute(
                    "UPDATE t SET v = ?1, n = ?2 WHERE k = ?3",
                    params![big, None::<i64>, "one"],
                )
            })
            .unwrap();
        assert_eq!(changed, 1);
        let back = db
            .read(|tx| tx.query_one("SELECT v, n FROM t", params![]))
            .unwrap();
        assert_eq!(
            (back.str(0).unwrap(), back.opt_int(1).unwrap()),
            (&*big, None)
        );
        let dup =
            db.write(|tx| tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params!["one", big]));
        match dup {
            Err(SqlError::Sqlite(e)) => assert!(e.to_string().contains("UNIQUE"), "{e}"),
            other => panic!("{other:?}"),
        }
        let bad = db.write(|tx| tx.execute("INSERT INTO nowhere VALUES (?1)", params![big]));
        assert!(bad.unwrap_err().to_string().contains("no such table"));
    }
}
