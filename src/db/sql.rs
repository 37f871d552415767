//! Hand-written SQL with bound values, for queries the query builder cannot say plainly (a
//! ranking over a derived table, a grouped count with computed keys): [`Sql`] writes each
//! value's placeholder in the engine's syntax (`$1` on PostgreSQL, `?` elsewhere).

use sea_orm::sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder,
};
use sea_orm::{DbBackend, Statement, Value};

/// A statement being written: text and the values its placeholders stand for.
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Sql {
        Sql {
            backend,
            text: String::with_capacity(256),
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Appends SQL text (never a value from outside: those go through [`Sql::value`]).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn value(&mut self, value: impl Into<Value>) -> &mut Sql {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(v1, v2, …)`; an empty list is `(NULL)`, which matches nothing in `IN`.
    pub fn list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Sql {
        self.text.push('(');
        let mut first = true;
        for value in values {
            if !first {
                self.text.push_str(", ");
            }
            first = false;
            self.value(value);
        }
        if first {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    /// Appends a statement made with the query builder (a sub-query), its values bound after
    /// those so far.
    pub fn select(&mut self, select: &SelectStatement) -> &mut Sql {
        let (text, values) = match self.backend {
            DbBackend::Postgres => select.build(PostgresQueryBuilder),
            DbBackend::MySql => select.build(MysqlQueryBuilder),
            _ => select.build(SqliteQueryBuilder),
        };
        if self.backend == DbBackend::Postgres {
            // `$1`… of the sub-query come after the values bound so far.
            let offset = self.values.len();
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                self.text.push(c);
                if c != '$' {
                    continue;
                }
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                match digits.parse::<usize>() {
                    Ok(n) => self.text.push_str(&(n + offset).to_string()),
                    Err(_) => self.text.push_str(&digits),
                }
            }
        } else {
            self.text.push_str(&text);
        }
        self.values.extend(values.0);
        self
    }

    /// How many values are bound so far.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }

    /// The statement so far, leaving this one empty (for a statement written in one chain).
    pub fn take(&mut self) -> Statement {
        Statement::from_sql_and_values(
            self.backend,
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.values),
        )
    }
}

/// `CAST(expression AS <a 64-bit integer>)` for a `SUM`, which PostgreSQL answers as `numeric`
/// and MySQL as `DECIMAL` over `BIGINT` columns.
pub fn as_integer(sql: &mut Sql, expression: &dyn Fn(&mut Sql)) {
    let integer = match sql.backend {
        DbBackend::MySql => "SIGNED",
        _ => "BIGINT",
    };
    sql.push("CAST(");
    expression(sql);
    sql.push(" AS ").push(integer).push(")");
}

/// An integer column of a hand-written query, whichever width the engine gave it (a `CASE` of
/// literals is `INT` on PostgreSQL, `BIGINT` on MySQL and SQLite; a `SMALLINT` column is
/// `INT2` on PostgreSQL).
pub fn integer(row: &sea_orm::QueryResult, index: usize) -> Result<i64, sea_orm::DbErr> {
    row.try_get_by_index::<i64>(index)
        .or_else(|_| row.try_get_by_index::<i32>(index).map(i64::from))
        .or_else(|_| row.try_get_by_index::<i16>(index).map(i64::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_query_s_placeholders_follow_those_bound_before_it() {
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        let sub = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("a")).eq(7_i64))
            .and_where(Expr::col(Alias::new("b")).eq("x"))
            .to_owned();
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("SELECT 1 WHERE c = ")
            .value(1_i64)
            .push(" AND d IN (")
            .select(&sub)
            .push(") AND e = ")
            .value(2_i64);
        let statement = pg.statement();
        assert!(
            statement.sql.contains(r#""a" = $2 AND "b" = $3"#),
            "{}",
            statement.sql
        );
        assert!(statement.sql.ends_with("e = $4"), "{}", statement.sql);
        assert_eq!(statement.values.map(|v| v.0.len()), Some(4));
        let mut other = Sql::new(DbBackend::Sqlite);
        other.value(1_i64).select(&sub);
        assert_eq!(other.len(), 3);
    }

    #[test]
    fn placeholders_follow_the_engine() {
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("SELECT 1 WHERE a = ")
            .value(1_i64)
            .push(" AND b IN ")
            .list(["x", "y"])
            .push(" AND c IN ")
            .list(Vec::<i64>::new());
        assert_eq!(
            pg.statement().sql,
            "SELECT 1 WHERE a = $1 AND b IN ($2, $3) AND c IN (NULL)"
        );
        let mut my = Sql::new(DbBackend::MySql);
        my.push("a = ").value(1_i64).push(" AND b IN ").list(["x"]);
        assert_eq!(my.statement().sql, "a = ? AND b IN (?)");
    }
}
