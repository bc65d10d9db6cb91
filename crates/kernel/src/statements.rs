//! Writes rendered ahead of their transaction: SQL text, bound values, outbox rows and audit
//! entries, executed later inside a [`WriteTx`].
//!
//! Why: on SQLite every write transaction holds the database's one write slot, and a bulk load
//! is bounded by how long the slot is held. Building multi-row `INSERT`s, encoding their values
//! and serialising events is CPU work that needs no lock, so the ingest pipeline does it while
//! the batch ahead of it still writes, and holds the slot only while SQLite works (moving it out
//! of the slot cut the slot time of a 50,000-record import from 2.3-2.5 s to 2.1 s,
//! BENCHMARKS.md). On PostgreSQL it costs nothing either way.
//!
//! Invariant: rendering never reads the database; everything a statement needs is known when it
//! is rendered — including the times it stamps (`recorded_at`, `created_at`, the audit entry's
//! time), which are therefore the rendering's, a few hundred milliseconds before the commit
//! of a bulk batch; nothing uses them as a cursor (the audit chain orders by `seq`).
//! Statements run in the order they were added, audit entries after them (SQLite needs a
//! transaction's first statement to be a write).

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};

use crate::audit::AuditEntry;
use crate::db::{Backend, StorageError, WriteTx};
use crate::events::CloudEvent;

/// Statements, outbox events and audit entries rendered for one transaction. Executed once, by
/// [`WriteTx::execute`]; a transaction that is retried renders its statements again.
pub struct Statements {
    backend: Backend,
    statements: Vec<(String, AnyArguments<'static>)>,
    events: usize,
    audit: Vec<AuditEntry>,
}

impl std::fmt::Debug for Statements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statements")
            .field("backend", &self.backend)
            .field("statements", &self.statements.len())
            .field("events", &self.events)
            .field("audit", &self.audit.len())
            .finish()
    }
}

/// The values of one row of a multi-row insert, bound in column order.
pub struct RowValues<'a> {
    args: &'a mut AnyArguments<'static>,
}

impl RowValues<'_> {
    /// Binds the next column's value. Values are owned: a rendered statement outlives the data
    /// it was rendered from.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'static, Any> + Type<Any> + 'static,
    {
        // Encoding into `Any` values cannot fail for the types Aloft binds (text, integers,
        // floats, blobs and their options); a failure would be a programming error.
        self.args
            .add(value)
            .expect("encoding a value for the Any driver");
        self
    }
}

impl Statements {
    /// Nothing yet, for `backend`'s SQL dialect.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            statements: Vec::new(),
            events: 0,
            audit: Vec::new(),
        }
    }

    /// The SQL dialect these statements are rendered in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether there is nothing to execute.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.audit.is_empty()
    }

    /// Outbox events rendered so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Adds one statement; `bind` binds its values in order.
    pub fn push(&mut self, sql: String, bind: impl FnOnce(&mut RowValues<'_>)) {
        let mut args = AnyArguments::default();
        bind(&mut RowValues { args: &mut args });
        self.statements.push((sql, args));
    }

    /// Adds multi-row inserts of `rows`: `head` (`INSERT INTO t (a, b) VALUES `), the rows'
    /// placeholders, then `tail` (e.g. an `ON CONFLICT` clause), at most `per_statement` rows
    /// of `columns` values each per statement. `bind` binds one row's `columns` values.
    pub fn insert<T>(
        &mut self,
        head: &str,
        tail: &str,
        columns: usize,
        per_statement: usize,
        rows: impl IntoIterator<Item = T>,
        mut bind: impl FnMut(&mut RowValues<'_>, T),
    ) {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut args = AnyArguments::default();
            let mut count = 0;
            for row in rows.by_ref().take(per_statement.max(1)) {
                bind(&mut RowValues { args: &mut args }, row);
                count += 1;
            }
            debug_assert_eq!(args.len(), count * columns, "{head}: values per row");
            let sql = format!("{head}{}{tail}", self.backend.values_rows(count, columns));
            self.statements.push((sql, args));
        }
    }

    /// Adds outbox rows for `events`: they commit with the transaction's change.
    pub fn emit(&mut self, events: &[CloudEvent]) -> Result<(), StorageError> {
        let rows = events
            .iter()
            .map(crate::events::outbox_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.insert(
            crate::events::OUTBOX_INSERT,
            "",
            crate::events::OUTBOX_COLUMNS,
            200,
            rows,
            |v, row| {
                v.bind(row.event_id)
                    .bind(row.event_type)
                    .bind(row.subject)
                    .bind(row.payload)
                    .bind(row.created_at);
            },
        );
        self.events += events.len();
        Ok(())
    }

    /// Adds audit entries, appended to the chain after the statements.
    pub fn audit(&mut self, entries: impl IntoIterator<Item = AuditEntry>) {
        self.audit.extend(entries);
    }

    /// Runs the statements and appends the audit entries in `tx`.
    pub(crate) async fn execute_in(
        self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<usize, StorageError> {
        for (sql, args) in self.statements {
            sqlx::query_with(&sql, args).execute(&mut *conn).await?;
        }
        crate::audit::append(conn, &self.audit).await?;
        Ok(self.events)
    }
}

impl WriteTx {
    /// Executes statements rendered ahead of this transaction (see the module documentation).
    pub async fn execute(&mut self, statements: Statements) -> Result<(), StorageError> {
        let events = statements.execute_in(self.conn()).await?;
        self.emitted(events);
        Ok(())
    }
}
