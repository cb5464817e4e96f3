//! Facts about the database itself (whether it answers, the pepper it was created with): the
//! trait, and its SQL for both databases.

use async_trait::async_trait;

use super::StoreError;
use super::backend::{Backend, SqlStore, Statement};

/// The database itself.
#[async_trait]
pub trait SettingStore: Send + Sync {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Records the pepper's fingerprint on first use; refuses a different one after.
    async fn pepper_check(&self, fingerprint: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<B: Backend> SettingStore for SqlStore<B> {
    async fn ping(&self) -> Result<(), StoreError> {
        let (_,): (i64,) = self.one(Statement::new("SELECT CAST(1 AS BIGINT)")).await?;
        Ok(())
    }

    async fn pepper_check(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.execute(
            Statement::new(
                "INSERT INTO settings (name, value) VALUES ('pepper', $1) ON CONFLICT (name) DO NOTHING",
            )
            .arg(fingerprint),
        )
        .await?;
        let (stored,): (String,) =
            self.one(Statement::new("SELECT value FROM settings WHERE name = 'pepper'")).await?;
        if stored == fingerprint {
            Ok(())
        } else {
            Err(StoreError::PepperMismatch { stored, configured: fingerprint.to_owned() })
        }
    }
}
