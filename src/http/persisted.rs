//! Persisted operations: a request may name its document by SHA-256 instead of sending it.
//!
//! - **Automatic persisted queries** (the default), as Apollo Client and urql send them:
//!   `extensions.persistedQuery = {"version": 1, "sha256Hash": "<64 hex>"}`, over POST or GET.
//!   A hash alone runs the document remembered under it, or is answered `PersistedQueryNotFound`
//!   (`extensions.code` `PERSISTED_QUERY_NOT_FOUND`); the client then sends the text with the
//!   hash, which must be the text's SHA-256, and the text is remembered once it has passed the
//!   request guard. The memory is a bounded LRU: `HQ_APQ_CACHE_SIZE` documents and at most
//!   [`CACHE_MAX_BYTES`] of text; `HQ_APQ_CACHE_SIZE=0` turns it off
//!   (`PERSISTED_QUERY_NOT_SUPPORTED`).
//! - **Trusted documents** (`HQ_TRUSTED_DOCUMENTS=manifest.json`, for production): the manifest
//!   graphql-codegen's client preset writes with `persistedDocuments: { hashAlgorithm:
//!   'sha256' }`, a JSON object of SHA-256 → document text. Only its documents run, named by hash
//!   or sent as text; anything else is `OPERATION_NOT_TRUSTED`, and nothing is learnt at run time.
//!
//! Either way the document that runs is resolved here, before the request guard, so a
//! persisted document is bounded, checked for idempotency keys and executed exactly as the same
//! text sent in full.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Most bytes of document text the automatic cache holds, whatever its number of entries.
pub const CACHE_MAX_BYTES: usize = 32 * 1024 * 1024;

/// How requests may name their documents by hash.
pub enum PersistedQueries {
    /// Automatic persisted queries, with their cache (`None`: turned off).
    Automatic(Option<Mutex<Cache>>),
    /// Only the documents of a trusted-documents manifest run.
    Trusted(HashMap<String, Arc<str>>),
}

/// The bounded memory of automatic persisted queries.
pub struct Cache {
    entries: LruCache<String, Arc<str>>,
    bytes: usize,
    max_bytes: usize,
}

/// A document sent in full with its hash, to remember once it has passed the guard.
#[derive(Debug)]
pub struct ToRemember {
    hash: String,
    query: Arc<str>,
}

/// Why a trusted-documents manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("trusted documents {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a JSON object of hash → document text.
    #[error(
        "trusted documents {path}: not a JSON object of SHA-256 hash to document text: {cause}"
    )]
    Format {
        /// The file.
        path: String,
        /// The cause.
        cause: String,
    },
    /// An entry's key is not the SHA-256 of its text.
    #[error(
        "trusted documents {path}: `{key}` is not the SHA-256 (64 lower-case hex digits) of its document; generate the manifest with persistedDocuments: {{ hashAlgorithm: 'sha256' }}"
    )]
    Hash {
        /// The file.
        path: String,
        /// The key at fault.
        key: String,
    },
}

/// The lower-case hex SHA-256 of a document's text.
pub fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

impl PersistedQueries {
    /// Automatic persisted queries remembering at most `size` documents (0: off).
    pub fn automatic(size: usize) -> Self {
        Self::automatic_within(size, CACHE_MAX_BYTES)
    }

    fn automatic_within(size: usize, max_bytes: usize) -> Self {
        PersistedQueries::Automatic(std::num::NonZeroUsize::new(size).map(|size| {
            Mutex::new(Cache {
                entries: LruCache::new(size),
                bytes: 0,
                max_bytes,
            })
        }))
    }

    /// Trusted-documents mode with the manifest at `path`.
    ///
    /// # Errors
    /// An unreadable file, a file that is not a JSON object of strings, or a key that is not the
    /// SHA-256 of its document.
    pub fn trusted(path: &Path) -> Result<Self, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: shown.clone(),
            source,
        })?;
        let entries: HashMap<String, String> =
            serde_json::from_str(&text).map_err(|err| ManifestError::Format {
                path: shown.clone(),
                cause: err.to_string(),
            })?;
        let mut documents = HashMap::with_capacity(entries.len());
        for (key, document) in entries {
            if sha256_hex(&document) != key {
                return Err(ManifestError::Hash { path: shown, key });
            }
            documents.insert(key, Arc::from(document));
        }
        Ok(PersistedQueries::Trusted(documents))
    }

    /// Resolves the document of `request`: takes its `persistedQuery` extension, fills in the
    /// query text from the hash, and refuses what the mode does not run. Returns the document to
    /// remember once the guard has passed it (automatic mode, text sent with its hash).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a malformed extension or a hash that is not the text's SHA-256;
    /// `PERSISTED_QUERY_NOT_FOUND`, `PERSISTED_QUERY_NOT_SUPPORTED` or `OPERATION_NOT_TRUSTED`.
    pub fn resolve(
        &self,
        request: &mut async_graphql::Request,
    ) -> Result<Option<ToRemember>, AppError> {
        let hash = match request.extensions.remove("persistedQuery") {
            None => None,
            Some(extension) => Some(parse_extension(extension)?),
        };
        let sent_text = !request.query.trim().is_empty();
        if let Some(hash) = &hash
            && sent_text
            && sha256_hex(&request.query) != *hash
        {
            return Err(AppError::bad_input(
                "extensions.persistedQuery.sha256Hash",
                "provided sha does not match query: the hash must be the SHA-256 of the query text",
            ));
        }
        match self {
            PersistedQueries::Trusted(documents) => {
                let key = match &hash {
                    Some(hash) => hash.clone(),
                    None => sha256_hex(&request.query),
                };
                let Some(document) = documents.get(&key) else {
                    return Err(AppError::NotTrusted(
                        "this service runs only the operations of its trusted-documents manifest"
                            .into(),
                    ));
                };
                if !sent_text {
                    request.query = document.to_string();
                }
                Ok(None)
            }
            PersistedQueries::Automatic(None) => match hash {
                Some(_) => Err(AppError::PersistedQueryNotSupported),
                None => Ok(None),
            },
            PersistedQueries::Automatic(Some(cache)) => {
                let Some(hash) = hash else { return Ok(None) };
                if sent_text {
                    return Ok(Some(ToRemember {
                        hash,
                        query: Arc::from(request.query.as_str()),
                    }));
                }
                let found = lock(cache).entries.get(&hash).cloned();
                match found {
                    Some(document) => {
                        request.query = document.to_string();
                        Ok(None)
                    }
                    None => Err(AppError::PersistedQueryNotFound),
                }
            }
        }
    }

    /// Remembers a document the guard has passed.
    pub fn remember(&self, document: ToRemember) {
        let PersistedQueries::Automatic(Some(cache)) = self else {
            return;
        };
        let size = document.query.len();
        let mut cache = lock(cache);
        if size > cache.max_bytes {
            return;
        }
        if let Some((_, evicted)) = cache.entries.push(document.hash, document.query) {
            cache.bytes -= evicted.len();
        }
        cache.bytes += size;
        while cache.bytes > cache.max_bytes {
            match cache.entries.pop_lru() {
                Some((_, evicted)) => cache.bytes -= evicted.len(),
                None => break,
            }
        }
    }
}

/// The cache, even if a thread panicked while holding it (its contents stay consistent: every
/// change is one call on the map and one on the byte count).
fn lock(cache: &Mutex<Cache>) -> std::sync::MutexGuard<'_, Cache> {
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `{"version": 1, "sha256Hash": "<64 hex>"}` → the hash, in lower case.
fn parse_extension(extension: async_graphql::Value) -> Result<String, AppError> {
    let async_graphql::Value::Object(fields) = extension else {
        return Err(AppError::bad_input(
            "extensions.persistedQuery",
            "persistedQuery is an object {version: 1, sha256Hash}",
        ));
    };
    let version_one = matches!(fields.get("version"), Some(async_graphql::Value::Number(n)) if n.as_u64() == Some(1));
    if !version_one {
        return Err(AppError::bad_input(
            "extensions.persistedQuery.version",
            "only version 1 of persisted queries is supported",
        ));
    }
    match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(AppError::bad_input(
            "extensions.persistedQuery.sha256Hash",
            "sha256Hash is the SHA-256 of the query text, 64 hex digits",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        request.extensions.insert(
            "persistedQuery".into(),
            async_graphql::Value::from_json(
                serde_json::json!({ "version": 1, "sha256Hash": hash }),
            )
            .unwrap(),
        );
        request
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used_document_beyond_its_size() {
        let apq = PersistedQueries::automatic(2);
        for text in ["{ a }", "{ b }", "{ c }"] {
            let remembered = apq
                .resolve(&mut with_hash(text, &sha256_hex(text)))
                .unwrap();
            apq.remember(remembered.expect("a text sent with its hash is remembered"));
            if text == "{ b }" {
                // `{ a }` used again: `{ b }` becomes the least recently used.
                let mut again = with_hash("", &sha256_hex("{ a }"));
                apq.resolve(&mut again).unwrap();
                assert_eq!(again.query, "{ a }");
            }
        }
        let mut forgotten = with_hash("", &sha256_hex("{ b }"));
        assert!(matches!(
            apq.resolve(&mut forgotten),
            Err(AppError::PersistedQueryNotFound)
        ));
        for kept in ["{ a }", "{ c }"] {
            let mut request = with_hash("", &sha256_hex(kept));
            apq.resolve(&mut request).unwrap();
            assert_eq!(request.query, kept);
        }
    }

    #[test]
    fn the_cache_holds_at_most_its_byte_budget() {
        let apq = PersistedQueries::automatic_within(1_000, 100);
        let texts: Vec<String> = (0..4).map(|i| format!("# {i:030}\n{{ a }}")).collect();
        for text in &texts {
            let remembered = apq
                .resolve(&mut with_hash(text, &sha256_hex(text)))
                .unwrap();
            apq.remember(remembered.unwrap());
        }
        let PersistedQueries::Automatic(Some(cache)) = &apq else {
            unreachable!()
        };
        let cache = lock(cache);
        assert!(cache.bytes <= 100);
        assert_eq!(cache.entries.len(), 2, "two of 38 bytes fit in 100");
        assert!(!cache.entries.contains(&sha256_hex(&texts[0])));
    }

    #[test]
    fn a_malformed_extension_is_bad_user_input_naming_its_field() {
        let apq = PersistedQueries::automatic(10);
        for (extension, field) in [
            (
                serde_json::json!({ "version": 2, "sha256Hash": sha256_hex("{ a }") }),
                "extensions.persistedQuery.version",
            ),
            (
                serde_json::json!({ "version": 1, "sha256Hash": "abc" }),
                "extensions.persistedQuery.sha256Hash",
            ),
            (
                serde_json::json!({ "version": 1 }),
                "extensions.persistedQuery.sha256Hash",
            ),
            (serde_json::json!("x"), "extensions.persistedQuery"),
        ] {
            let mut request = async_graphql::Request::new("{ a }");
            request.extensions.insert(
                "persistedQuery".into(),
                async_graphql::Value::from_json(extension).unwrap(),
            );
            match apq.resolve(&mut request) {
                Err(AppError::BadInput { field: found, .. }) => assert_eq!(found, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_manifest_entry_whose_key_is_not_the_sha256_of_its_text_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("persisted-documents.json");
        let good = "query A { a }";
        std::fs::write(
            &path,
            serde_json::json!({ sha256_hex(good): good }).to_string(),
        )
        .unwrap();
        assert!(PersistedQueries::trusted(&path).is_ok());
        // A sha1 manifest (graphql-codegen's default hash) is refused with the way out.
        std::fs::write(
            &path,
            serde_json::json!({ "b8f7e7b9cf6f8bf8c1a1e0c0bb5b9e8f0c9a4e3d": good }).to_string(),
        )
        .unwrap();
        let err = PersistedQueries::trusted(&path).err().unwrap().to_string();
        assert!(err.contains("hashAlgorithm: 'sha256'"), "{err}");
        std::fs::write(&path, "[\"query A { a }\"]").unwrap();
        assert!(matches!(
            PersistedQueries::trusted(&path),
            Err(ManifestError::Format { .. })
        ));
        assert!(matches!(
            PersistedQueries::trusted(&dir.path().join("missing.json")),
            Err(ManifestError::Read { .. })
        ));
    }
}
