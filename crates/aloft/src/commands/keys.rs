//! `aloft keys rotate`: a new master key in the key file, every customer data key re-wrapped.

use anyhow::Context;
use clap::Subcommand;

use aloft_access::KeySource;
use aloft_customers::CustomerStore;
use aloft_kernel::Database;

use super::StorageArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Rotate the master key without downtime: a new master key becomes current in the key
    /// file (the old one is kept to read what is not yet re-wrapped), every customer's data key
    /// is re-wrapped under it, and running servers adopt it within seconds.
    Rotate(StorageArgs),
}

/// Runs `aloft keys …`.
pub(crate) async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate(storage) => {
            let KeySource::File(path) = storage.key_source() else {
                anyhow::bail!(
                    "the keys come from ALOFT_MASTER_KEY/ALOFT_INDEX_KEY: rotate them in your secret \
                         manager (add the new master key, keep the old one as previous) — `aloft keys rotate` \
                         rotates a key file"
                );
            };
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            aloft_kernel::migrate::run(&db).await?;
            let keys =
                aloft_access::InstanceKeys::load(&db, &KeySource::File(path.clone())).await?;
            // Finish any earlier rotation first: the file keeps only one previous key.
            let store = CustomerStore::new(db.clone(), std::sync::Arc::new(keys));
            let pending = store.rewrap_data_keys().await?;
            let rotated = aloft_access::InstanceKeys::rotate_key_file(&path)?;
            eprintln!(
                "New master key {} written to {} (previous kept for reading). Running servers adopt it within seconds.",
                rotated.master_key_id(),
                path.display()
            );
            let new_id = rotated.master_key_id().to_owned();
            let rotated = std::sync::Arc::new(rotated);
            let store = CustomerStore::new(db.clone(), rotated.clone());
            let rewrapped = store.rewrap_data_keys().await?;
            rotated.record_rotation(&db).await?;
            println!(
                "Rotated the master key to {new_id}: {rewrapped} customer data key(s) re-wrapped ({pending} left over from an earlier rotation). Back up the key file now."
            );
            Ok(())
        }
    }
}
