//! Statements on the embedded SQLite backend.

use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::{Row, SqlError, ToValue, Value};

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(n) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*n)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

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

pub(crate) fn execute(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: &[&dyn ToValue],
) -> Result<u64, SqlError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let n = stmt.execute(rusqlite::params_from_iter(values(params)))?;
    Ok(n as u64)
}

pub(crate) fn query(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: &[&dyn ToValue],
) -> Result<Vec<Row>, SqlError> {
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
