//! The identity provider's public keys (a JWKS, RFC 7517): fetched from `HQ_JWKS_URL` or read
//! from `HQ_JWKS_FILE`, kept in memory, fetched again every `HQ_JWKS_REFRESH`, and on a token
//! whose `kid` is unknown at most once per `HQ_JWKS_MIN_REFRESH`, so a flood of made-up `kid`s
//! costs the identity provider one request per interval.
//!
//! Only signing keys the service can use are kept: RSA keys of at least 2048 bits (RS256) and
//! P-256 keys (ES256), with `use` absent or `sig`, `key_ops` absent or naming `verify`, and `alg`
//! absent or the algorithm the key type implies. Symmetric (`oct`) keys are never taken from a
//! JWKS. A fetch that fails, or that yields no usable key, keeps the keys already held.
//!
//! Every fetch runs on one background task (on the runtime that started the service); a request
//! that meets an unknown `kid` asks that task for a fetch and waits for its outcome.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Notify, watch};

/// Longest wait for the identity provider to answer a JWKS request.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest JWKS document read, in bytes.
pub const MAX_JWKS_BYTES: usize = 1_048_576;
/// Most keys kept from one JWKS.
pub const MAX_KEYS: usize = 64;
/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// The first wait before a failed fetch is tried again; each later wait doubles it, up to the
/// refresh interval.
const RETRY_FIRST: Duration = Duration::from_secs(1);

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// An `https://` URL (or `http://` on a loopback address).
    Url(String),
    /// A local JWKS file.
    File(PathBuf),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::Url(url) => f.write_str(url),
            JwksSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One usable verifying key.
struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The usable keys of one JWKS.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<Key>,
}

/// What a key lookup found.
pub enum Lookup<'a> {
    /// The key for the token.
    Found(&'a DecodingKey),
    /// The `kid` names a key of another algorithm (no refresh helps).
    WrongAlgorithm,
    /// No key with that `kid` (or, without a `kid`, not exactly one key of the algorithm).
    Unknown,
}

impl KeySet {
    /// Parses a JWKS document, keeping the usable keys (see the module's documentation).
    ///
    /// # Errors
    /// Not a JSON object with a `keys` array, or no usable key in it.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(bytes)
            .map_err(|err| format!("not a JWKS document (a JSON object with `keys`): {err}"))?;
        let mut keys = Vec::new();
        for value in document.keys {
            // A key of a type this library does not know is skipped, not fatal for the set.
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            if let Some(key) = usable(&jwk) {
                keys.push(key);
                if keys.len() == MAX_KEYS {
                    break;
                }
            }
        }
        if keys.is_empty() {
            return Err(
                "the JWKS holds no usable signing key (RSA ≥ 2048 bits for RS256, P-256 for ES256)"
                    .into(),
            );
        }
        Ok(KeySet { keys })
    }

    /// The key that verifies a token of `algorithm` with `kid`.
    pub fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Lookup<'_> {
        match kid {
            Some(kid) => {
                let mut named = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .peekable();
                if named.peek().is_none() {
                    return Lookup::Unknown;
                }
                named
                    .find(|k| k.algorithm == algorithm)
                    .map_or(Lookup::WrongAlgorithm, |k| Lookup::Found(&k.key))
            }
            None => {
                let mut of_algorithm = self.keys.iter().filter(|k| k.algorithm == algorithm);
                match (of_algorithm.next(), of_algorithm.next()) {
                    (Some(only), None) => Lookup::Found(&only.key),
                    _ => Lookup::Unknown,
                }
            }
        }
    }

    /// The keys' `kid`s and algorithms, for the log (`-` for a key without a `kid`).
    pub fn kids(&self) -> String {
        let kids: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{}:{:?}", k.kid.as_deref().unwrap_or("-"), k.algorithm))
            .collect();
        kids.join(",")
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The verifying key of `jwk`, if the service may use it.
fn usable(jwk: &Jwk) -> Option<Key> {
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            if rsa.n.trim_end_matches('=').len() * 3 / 4 < MIN_RSA_MODULUS_BYTES {
                return None;
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let declared_ok = match common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(_) => false,
    };
    if !declared_ok {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: common.key_id.clone(),
        algorithm,
        key,
    })
}

/// Fetches started and finished so far (one at a time: `started` is `finished` or one more).
#[derive(Debug, Clone, Copy, Default)]
struct Fetches {
    started: u64,
    finished: u64,
}

/// The keys held, and the machinery that fetches them.
pub struct Jwks {
    source: JwksSource,
    keys: RwLock<Option<Arc<KeySet>>>,
    /// Counts the fetches started and finished (successful or not); a waiter watches it.
    fetches: watch::Sender<Fetches>,
    /// Wakes the fetching task for an on-demand fetch.
    wake: Arc<Notify>,
    /// The last on-demand fetch asked for: when, and the number of fetches that will have
    /// finished once it has.
    last_demand: Mutex<Option<(Instant, u64)>>,
    refresh: Duration,
    min_refresh: Duration,
    client: reqwest::Client,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("source", &self.source)
            .finish()
    }
}

impl Jwks {
    /// Loads the keys once and starts the task that refreshes them every `refresh` (and on
    /// demand, at most once per `min_refresh`).
    ///
    /// A URL that cannot be fetched now is not an error: the failure is logged, tokens of the
    /// identity provider are refused until a later try succeeds (after 1 s, then doubling up to
    /// `refresh`, or on demand).
    ///
    /// # Errors
    /// A file that cannot be read or holds no usable key (only a change on the machine fixes
    /// it), or an HTTP client that cannot be built.
    pub async fn start(
        source: JwksSource,
        refresh: Duration,
        min_refresh: Duration,
    ) -> Result<Arc<Self>, String> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hq-api/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("cannot build the HTTP client for the JWKS: {err}"))?;
        let (fetches, _) = watch::channel(Fetches::default());
        let jwks = Arc::new(Jwks {
            source,
            keys: RwLock::new(None),
            fetches,
            wake: Arc::new(Notify::new()),
            last_demand: Mutex::new(None),
            refresh,
            min_refresh,
            client,
        });
        let first = jwks.fetch_once().await;
        match (&jwks.source, &first) {
            (JwksSource::File(path), Err(err)) => {
                return Err(format!("JWKS file {}: {err}", path.display()));
            }
            (JwksSource::Url(_), Err(err)) => jwks.log_failure(err),
            _ => {}
        }
        tokio::spawn(refresh_loop(
            Arc::downgrade(&jwks),
            jwks.wake.clone(),
            first.is_ok(),
        ));
        Ok(jwks)
    }

    /// The keys held, if any were ever loaded.
    pub fn current(&self) -> Option<Arc<KeySet>> {
        self.keys.read().ok().and_then(|keys| keys.clone())
    }

    /// Asks for a fetch because a token named a key not held, and waits for it; at most one
    /// such fetch starts per `min_refresh`. A request arriving while that fetch runs waits for
    /// it too; one arriving later in the interval returns at once.
    pub async fn refresh_for_unknown_key(&self) {
        let mut fetches = self.fetches.subscribe();
        let target = {
            let Ok(mut last) = self.last_demand.lock() else {
                return;
            };
            let now = *fetches.borrow();
            match *last {
                Some((at, target)) if at.elapsed() < self.min_refresh => {
                    if now.finished >= target {
                        return; // that fetch is done; the next waits for the interval
                    }
                    target
                }
                _ => {
                    // A fetch running now may have started before the keys changed: wait
                    // for the next one to start, which this wakes.
                    let target = now.started + 1;
                    *last = Some((Instant::now(), target));
                    self.wake.notify_one();
                    target
                }
            }
        };
        let _ = tokio::time::timeout(
            FETCH_TIMEOUT * 2 + Duration::from_secs(1),
            fetches.wait_for(|n| n.finished >= target),
        )
        .await;
    }

    /// Fetches (or reads) the JWKS once and, if it holds usable keys, replaces the keys held.
    async fn fetch_once(&self) -> Result<usize, String> {
        self.fetches.send_modify(|n| n.started += 1);
        let result = match &self.source {
            JwksSource::Url(url) => self.download(url).await,
            JwksSource::File(path) => tokio::fs::read(path)
                .await
                .map_err(|err| err.to_string())
                .and_then(|bytes| {
                    if bytes.len() > MAX_JWKS_BYTES {
                        Err(format!("larger than {MAX_JWKS_BYTES} bytes"))
                    } else {
                        Ok(bytes)
                    }
                }),
        }
        .and_then(|bytes| KeySet::parse(&bytes));
        let outcome = match result {
            Ok(set) => {
                let count = set.len();
                let kids = set.kids();
                let changed = self.current().is_none_or(|held| held.kids() != kids);
                if let Ok(mut keys) = self.keys.write() {
                    *keys = Some(Arc::new(set));
                }
                if changed {
                    tracing::info!(source = %self.source, kids = %kids, "identity provider's keys loaded");
                } else {
                    tracing::debug!(source = %self.source, keys = count, "JWKS unchanged");
                }
                Ok(count)
            }
            Err(err) => Err(err),
        };
        self.fetches.send_modify(|n| n.finished += 1);
        outcome
    }

    /// Logs a failed fetch and what follows from it.
    fn log_failure(&self, err: &str) {
        tracing::warn!(
            source = %self.source,
            "cannot load the identity provider's keys: {err}; {}",
            if self.current().is_some() {
                "keeping the keys loaded before"
            } else {
                "its tokens are refused until they load"
            }
        );
    }

    /// GETs the JWKS: a 2xx answer of at most [`MAX_JWKS_BYTES`].
    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| format!("GET failed: {}", causes(&err)))?;
        if !response.status().is_success() {
            return Err(format!("GET answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("reading the answer failed: {}", causes(&err)))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("answer larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// An error and its causes on one line (reqwest's own text omits the cause: DNS, TLS, refused).
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Fetches every `refresh` (sooner after a failure, and whenever woken), until the keys are
/// dropped with the service.
async fn refresh_loop(jwks: Weak<Jwks>, wake: Arc<Notify>, mut healthy: bool) {
    let mut retry = RETRY_FIRST;
    loop {
        let wait = match jwks.upgrade() {
            None => return,
            Some(jwks) if healthy => {
                retry = RETRY_FIRST;
                jwks.refresh
            }
            Some(jwks) => {
                let wait = retry.min(jwks.refresh);
                retry = retry.saturating_mul(2);
                wait
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
        }
        let Some(jwks) = jwks.upgrade() else {
            return;
        };
        let outcome = jwks.fetch_once().await;
        if let Err(err) = &outcome {
            jwks.log_failure(err);
        }
        healthy = outcome.is_ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Public parts of keys made with `openssl genrsa 2048`, `genrsa 1024` and `ecparam -name
    /// prime256v1` (the private parts were thrown away).
    const N_2048: &str = "np4WP2s6jrkOJ34JVXJ1fyf3npK7nK3wpeGf8-xrypSQrClBVxXi4Z9p8vul1RPlI_Qhe5FM4x8o5vNRjmC5L1DKI8KwhVoV7iZYS-l7ivOTgPuW6Onw4fm0ApmPvwftdCKQt8SaRGJ7zWmgNgcmwEFWGtbDx-papaY-TelpvJgTePYGnhPb7IZ9PABQ4zLT61yG91DNHp_jhKkLDwMZo08oVLDtKzhMYIjBhNNSjikF2dc9vMCa8-NWyXStXutKXajCOjl3ZsIeAYmWR_xzb1w5On5JvN3hZK9-xjMlFLaVEpCzmbw1U6hlecCLjXejFBXRmPIKhfP7tLP7Qn99LQ";
    const N_1024: &str = "t-8p7Lmwhoy7tSbwuEV3wTpxgy86NGXXZmsSk37wD1k3j_ISAOsYaQxgQU43K3egVaCx5YItFQ_YYWLiI9DJVRgRPGQpJQko3AQwEECOk1B5uLQQU0JhM_Z98CGsMF7jzIc6lUK8ZrUNADBuYINdKXktCr22ckM9ptFZtZyPz60";
    const P256_X: &str = "8RssPZt2CQx2IhlNxN8hbG9SDOWfhijeb3j_eD7C1l0";
    const P256_Y: &str = "iAYYvCRUb4CcOPHWt-45o1qHiPTEn3W5-E-gjI_0eJo";

    fn rsa(kid: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut key = json!({ "kty": "RSA", "kid": kid, "n": N_2048, "e": "AQAB" });
        key.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        key
    }

    fn kids(set: &KeySet) -> Vec<(Option<String>, Algorithm)> {
        set.keys
            .iter()
            .map(|k| (k.kid.clone(), k.algorithm))
            .collect()
    }

    #[test]
    fn only_signing_keys_the_service_can_use_are_kept() {
        let document = json!({ "keys": [
            rsa("plain", json!({})),
            rsa("sig", json!({ "use": "sig", "alg": "RS256" })),
            rsa("enc", json!({ "use": "enc", "alg": "RSA-OAEP" })),
            rsa("ops", json!({ "key_ops": ["encrypt"] })),
            rsa("ps256", json!({ "alg": "PS256" })),
            { "kty": "RSA", "kid": "small", "n": N_1024, "e": "AQAB" },
            { "kty": "EC", "kid": "ec", "crv": "P-256", "x": P256_X, "y": P256_Y },
            { "kty": "EC", "kid": "ec-as-rsa", "crv": "P-256", "x": P256_X, "y": P256_Y, "alg": "RS256" },
            { "kty": "oct", "kid": "secret", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA" },
            { "kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA" },
            { "kty": "weird", "kid": "future" },
        ]});
        let set = KeySet::parse(document.to_string().as_bytes()).unwrap();
        assert_eq!(
            kids(&set),
            [
                (Some("plain".into()), Algorithm::RS256),
                (Some("sig".into()), Algorithm::RS256),
                (Some("ec".into()), Algorithm::ES256),
            ]
        );
    }

    #[test]
    fn a_jwks_without_a_usable_key_or_not_a_jwks_is_an_error() {
        for bad in [
            r#"{"keys": []}"#,
            r#"{"keys": [{"kty": "oct", "k": "AAAA"}]}"#,
            r#"[]"#,
            "not json",
        ] {
            assert!(KeySet::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_is_found_by_kid_and_algorithm_or_alone_without_a_kid() {
        let document = json!({ "keys": [rsa("a", json!({})), rsa("b", json!({}))] });
        let set = KeySet::parse(document.to_string().as_bytes()).unwrap();
        assert!(matches!(
            set.find(Some("a"), Algorithm::RS256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.find(Some("a"), Algorithm::ES256),
            Lookup::WrongAlgorithm
        ));
        assert!(matches!(
            set.find(Some("c"), Algorithm::RS256),
            Lookup::Unknown
        ));
        // Two RSA keys: a token without a kid cannot say which.
        assert!(matches!(set.find(None, Algorithm::RS256), Lookup::Unknown));
        let one = json!({ "keys": [rsa("a", json!({}))] });
        let set = KeySet::parse(one.to_string().as_bytes()).unwrap();
        assert!(matches!(set.find(None, Algorithm::RS256), Lookup::Found(_)));
    }
}
