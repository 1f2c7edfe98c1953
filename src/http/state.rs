//! [`AppState`]: what every handler and guard may use, built once from [`Settings`].

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Semaphore;

use super::auth::Access;
use super::settings::{Settings, Token};
use super::signature_check::SignatureCheck;
use crate::signature::Verifier;
use crate::storage::Storage;

/// What the handlers share, behind one `Arc`: axum clones the state for every extractor and
/// middleware of every request, so a clone is one reference count, not one per handle inside (a
/// dozen, on cache lines both request threads write: with them, every request cost about a fifth
/// more CPU; see the performance page's fifth pass). Reads its fields through [`Deref`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The handles and settings the requests need. Set in [`AppState::new`] and only read
/// afterwards; the one thing that changes while serving, whether the server is draining, is a
/// flag.
pub struct Shared {
    pub(super) storage: Storage,
    pub(super) signatures: SignatureCheck,
    /// `X-Hub-Signature-256` on `POST /webhook/whatsapp`, keyed with the app secret; `None`
    /// when it is unset, and then every delivery is refused.
    pub(super) whatsapp_verifier: Option<Verifier>,
    pub(super) whatsapp_verify_token: Option<Token>,
    pub(super) metrics: PrometheusHandle,
    /// The tokens that close the reads, when set.
    pub(super) access: Access,
    pub(super) max_body_bytes: usize,
    pub(super) request_timeout: Duration,
    pub(super) shutdown_drain: Duration,
    /// One permit per webhook delivery being handled ([`Settings::max_webhooks_in_flight`]);
    /// a delivery that finds none is answered 503 before its body is read.
    pub(super) admission: Semaphore,
    /// Set when shutdown begins: readiness answers 503 so that traffic drains.
    draining: AtomicBool,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(storage: Storage, settings: &Settings) -> Self {
        Self(Arc::new(Shared {
            storage,
            signatures: SignatureCheck::new(settings),
            whatsapp_verifier: settings
                .whatsapp_app_secret
                .as_ref()
                .map(|secret| Verifier::new(secret.as_bytes(), None)),
            whatsapp_verify_token: settings.whatsapp_verify_token.clone(),
            metrics: super::metrics::recorder(),
            access: Access {
                read: settings.read_token.clone(),
                metrics: settings.metrics_token.clone(),
            },
            max_body_bytes: settings.max_body_bytes,
            request_timeout: settings.request_timeout,
            shutdown_drain: settings.shutdown_drain,
            admission: Semaphore::new(settings.max_webhooks_in_flight),
            draining: AtomicBool::default(),
        }))
    }

    /// Turns readiness to 503 (the server calls this when shutdown begins).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
