//! The one write path of the store: every change of record opens a [`Write`], makes its changes
//! through the write's connection, leaves a change record for each ([`Write::record`]) and
//! commits ([`Write::commit`]), which announces the newest record in the transaction and tells
//! this process's followers after it. A write that records nothing cannot commit, and a write
//! dropped before it commits rolls back: no change without its record, no record without its
//! signal. What later belongs with a change (audit rows, webhook deliveries) is written here too,
//! in the same transaction.

use sqlx::Transaction;

use super::StoreError;
use super::backend::{Backend, Connection, SqlStore, Statement, Value};
use super::changes::{Change, NewChange};

/// Change records inserted by one statement (8 values each, under both databases' limits).
const RECORD_CHUNK: usize = 1_000;

/// A write under way: a transaction, and the newest change record it left.
pub struct Write<'s, B: Backend> {
    backend: &'s B,
    tx: Transaction<'static, B::Db>,
    newest: Option<i64>,
}

impl<B: Backend> SqlStore<B> {
    /// Starts a write.
    pub(super) async fn write(&self) -> Result<Write<'_, B>, StoreError> {
        self.reachability.check()?;
        let tx = self.backend.pool().begin().await?;
        Ok(Write { backend: &self.backend, tx, newest: None })
    }

    /// Starts a write no other can interleave with (see [`Backend::begin_alone`]).
    pub(super) async fn write_alone(&self) -> Result<Write<'_, B>, StoreError> {
        self.reachability.check()?;
        let tx = self.backend.begin_alone().await?;
        Ok(Write { backend: &self.backend, tx, newest: None })
    }
}

impl<B: Backend> Write<'_, B> {
    /// The write's connection, for its statements.
    pub fn conn(&mut self) -> &mut Connection<B> {
        &mut self.tx
    }

    pub async fn execute(&mut self, statement: Statement) -> Result<u64, StoreError> {
        B::execute(&mut self.tx, statement).await
    }

    /// Numbers and stores change records, in the order given.
    pub async fn record(&mut self, changes: Vec<NewChange>) -> Result<Vec<Change>, StoreError> {
        let mut recorded = Vec::with_capacity(changes.len());
        for chunk in changes.chunks(RECORD_CHUNK) {
            B::before_numbering(&mut self.tx).await?;
            let rows: Vec<Vec<(&str, Value)>> =
                chunk.iter().map(NewChange::columns).collect::<Result<_, _>>()?;
            let names: Vec<&str> = rows[0].iter().map(|(name, _)| *name).collect();
            let mut insert = Statement::new(format!("INSERT INTO changes ({}) VALUES ", names.join(", ")));
            insert.push_rows(rows.into_iter().map(|row| row.into_iter().map(|(_, value)| value).collect()));
            insert.push(" RETURNING seq");
            let mut seqs: Vec<(i64,)> = B::fetch_all(&mut self.tx, insert).await?;
            if seqs.len() != chunk.len() {
                return Err(StoreError::Corrupt("change records were not all numbered".into()));
            }
            // The numbers are given in the order of the rows inserted, which RETURNING does not
            // promise to keep: sorted, they pair with the rows again.
            seqs.sort_unstable();
            for (change, (seq,)) in chunk.iter().zip(seqs) {
                recorded.push(change.clone().stored(seq));
            }
        }
        self.newest = recorded.iter().map(|c| c.seq).max().max(self.newest);
        Ok(recorded)
    }

    /// Stores one change record.
    pub async fn record_one(&mut self, change: NewChange) -> Result<Change, StoreError> {
        self.record(vec![change]).await?.pop().ok_or_else(|| StoreError::Corrupt("no change recorded".into()))
    }

    /// Commits what the write changed with its change records, and tells every follower.
    pub async fn commit(mut self) -> Result<i64, StoreError> {
        let Some(newest) = self.newest else {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Corrupt("a write recorded no change; it was rolled back".into()));
        };
        B::announce(&mut self.tx, newest).await?;
        self.tx.commit().await?;
        self.backend.committed(newest);
        Ok(newest)
    }
}
