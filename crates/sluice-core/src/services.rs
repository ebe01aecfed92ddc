//! What the engine hands steps besides their items: the store, the clock and the code keys.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::notify::{Courier, NoCourier};
use crate::otp::{CodeKeys, OtpError, OtpPolicy};
use crate::store::{MemoryStore, Store};

/// The engine's services, shared by every run.
#[derive(Clone)]
pub struct Services {
    /// Users, codes, entries, run records.
    pub store: Arc<dyn Store>,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// The server keys that hash one-time codes.
    pub keys: Arc<CodeKeys>,
    /// How failed confirmations lock.
    pub otp: OtpPolicy,
    /// Delivers `Smtp` and `Webhook` notifications.
    pub courier: Arc<dyn Courier>,
    /// Where end users reach the server (such as `https://app.example.com`): the start of the
    /// links that confirm an address or reset a password. `None`: no such link can be made.
    pub public_url: Option<Arc<str>>,
    /// The services outside Sluice that dataflows may call (Execute API call).
    pub connectors: Arc<crate::connectors::Connectors>,
    /// Where runs find other components' plans (Execute dataflow into another component).
    pub plans: Arc<OtherPlans>,
}

/// Where runs find the plans of other components, set once by the host that holds them (the
/// server's saved components, the components `sluice test` loads together).
#[derive(Default)]
pub struct OtherPlans(std::sync::OnceLock<PlanFinder>);

/// Finds the plan of a component by name.
type PlanFinder = Box<dyn Fn(&str) -> Option<Arc<crate::plan::Plan>> + Send + Sync>;

impl std::fmt::Debug for OtherPlans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "OtherPlans(set)" } else { "OtherPlans(none)" })
    }
}

impl OtherPlans {
    /// Sets how plans are found (once: a later call changes nothing).
    pub fn set(&self, find: impl Fn(&str) -> Option<Arc<crate::plan::Plan>> + Send + Sync + 'static) {
        let _ = self.0.set(Box::new(find));
    }

    /// The plan of the component `name`, when the host has one.
    pub fn find(&self, name: &str) -> Option<Arc<crate::plan::Plan>> {
        self.0.get().and_then(|find| find(name))
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("store", &self.store.location())
            .field("keys", &self.keys)
            .field("otp", &self.otp)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Services over `store` with the system clock and default rules.
    pub fn new(store: Arc<dyn Store>, keys: CodeKeys) -> Self {
        Services {
            store,
            clock: Arc::new(SystemClock),
            keys: Arc::new(keys),
            otp: OtpPolicy::default(),
            courier: Arc::new(NoCourier),
            public_url: None,
            connectors: Arc::default(),
            plans: Arc::default(),
        }
    }

    /// A fresh in-memory store with a random key: state that lives as long as the process.
    pub fn in_memory() -> Result<Self, OtpError> {
        Ok(Services::new(Arc::new(MemoryStore::new()), CodeKeys::random()?))
    }

    /// The same services delivering notifications through `courier`.
    pub fn with_courier(mut self, courier: Arc<dyn Courier>) -> Self {
        self.courier = courier;
        self
    }

    /// The same services making links that start with `url` (a trailing `/` is dropped).
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.trim_end_matches('/').into());
        self
    }

    /// The same services calling `connectors`.
    pub fn with_connectors(mut self, connectors: crate::connectors::Connectors) -> Self {
        self.connectors = Arc::new(connectors);
        self
    }

    /// The same services reading time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}
