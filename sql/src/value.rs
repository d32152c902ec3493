//! Values going into and coming out of a statement, the same for both backends.
//!
//! The schema uses two column types only (`TEXT` and `BIGINT`, booleans as 0/1), so a value is
//! an integer, a text or NULL. Binding is lenient the way SQLite is: an integer bound where
//! PostgreSQL expects text is written as its decimal form, and a NULL fits any type.

use crate::SqlError;

/// One value of a parameter or a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// What can be bound to a statement's parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;

    /// The text itself, when the value is a text (bound without a copy of ours where the
    /// backend takes a borrowed text: a big zone or plan is not cloned to be written).
    fn as_text(&self) -> Option<&str> {
        None
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
    fn as_text(&self) -> Option<&str> {
        (**self).as_text()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
    fn as_text(&self) -> Option<&str> {
        self.as_ref().and_then(ToValue::as_text)
    }
}

/// The parameters of a statement: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::ToValue),+] as &[&dyn $crate::ToValue] };
}

/// One row of a result, its columns in the order the statement named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    fn value(&self, i: usize) -> Result<&Value, SqlError> {
        self.0.get(i).ok_or_else(|| SqlError::Type {
            column: i,
            message: format!("the row has {} columns", self.0.len()),
        })
    }

    fn wrong(i: usize, want: &str, got: &Value) -> SqlError {
        let got = match got {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Text(_) => "a text",
        };
        SqlError::Type {
            column: i,
            message: format!("{want} expected, {got} found"),
        }
    }

    /// An integer column (not NULL).
    pub fn int(&self, i: usize) -> Result<i64, SqlError> {
        match self.value(i)? {
            Value::Int(n) => Ok(*n),
            v => Err(Row::wrong(i, "an integer", v)),
        }
    }

    /// An integer column that may be NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, SqlError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            v => Err(Row::wrong(i, "an integer or NULL", v)),
        }
    }

    /// A boolean column (stored as 0/1).
    pub fn bool(&self, i: usize) -> Result<bool, SqlError> {
        self.int(i).map(|n| n != 0)
    }

    /// A text column (not NULL), borrowed.
    pub fn str(&self, i: usize) -> Result<&str, SqlError> {
        match self.value(i)? {
            Value::Text(s) => Ok(s),
            v => Err(Row::wrong(i, "a text", v)),
        }
    }

    /// A text column (not NULL).
    pub fn text(&self, i: usize) -> Result<String, SqlError> {
        self.str(i).map(str::to_string)
    }

    /// A text column (not NULL), moved out of the row (a big one is not copied; the
    /// column reads as empty text afterwards).
    pub fn take_text(&mut self, i: usize) -> Result<String, SqlError> {
        let n = self.0.len();
        match self.0.get_mut(i) {
            Some(Value::Text(s)) => Ok(std::mem::take(s)),
            Some(v) => Err(Row::wrong(i, "a text", v)),
            None => Err(SqlError::Type {
                column: i,
                message: format!("the row has {n} columns"),
            }),
        }
    }

    /// A text column that may be NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, SqlError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            v => Err(Row::wrong(i, "a text or NULL", v)),
        }
    }

    /// Every column, as read.
    pub fn values(&self) -> &[Value] {
        &self.0
    }
}

/// Rewrite SQLite's numbered parameters (`?1`) as PostgreSQL's (`$1`), outside quoted text.
pub(crate) fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_params("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12 AND c = '?'"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12 AND c = '?'"
        );
    }

    #[test]
    fn rows_name_the_column_and_what_was_found() {
        let r = Row(vec![Value::Int(3), Value::Null, Value::Text("x".into())]);
        assert_eq!(r.int(0).unwrap(), 3);
        assert_eq!(r.opt_text(1).unwrap(), None);
        assert_eq!(r.str(2).unwrap(), "x");
        let e = r.int(2).unwrap_err().to_string();
        assert!(e.contains("column 2") && e.contains("a text found"), "{e}");
        assert!(r.int(9).is_err());
        let p: &[&dyn ToValue] = params![1i64, "a", None::<String>, true];
        let v: Vec<Value> = p.iter().map(|x| x.to_value()).collect();
        assert_eq!(
            v,
            [
                Value::Int(1),
                Value::Text("a".into()),
                Value::Null,
                Value::Int(1)
            ]
        );
    }
}
