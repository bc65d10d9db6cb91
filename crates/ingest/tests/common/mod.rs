//! Shared set-up of the ingest integration tests.

use aloft_customers::CustomerStore;
use aloft_ingest::Pipeline;
use aloft_kernel::Database;
use aloft_travel::TravelStore;

/// The instance keys, the same for every store of this test process (as a restarted server
/// reads the same key file).
pub fn keys() -> std::sync::Arc<aloft_kernel::keys::InstanceKeys> {
    static KEYS: std::sync::OnceLock<std::sync::Arc<aloft_kernel::keys::InstanceKeys>> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        std::sync::Arc::new(aloft_kernel::keys::InstanceKeys::new(
            aloft_security::MasterKey::generate(),
            aloft_security::IndexKey::generate(),
        ))
    })
    .clone()
}

/// A pipeline and the stores behind it.
pub fn stores(db: &Database) -> (Pipeline, CustomerStore, TravelStore) {
    let customers = CustomerStore::new(db.clone(), keys());
    let travel = TravelStore::new(db.clone(), std::sync::Arc::new(customers.clone()));
    (
        Pipeline::new(db.clone(), customers.clone(), travel.clone()),
        customers,
        travel,
    )
}
