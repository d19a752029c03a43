//! Bearer tokens: HS256 tokens signed with the service's secret (minted by `hq-api token`), and
//! RS256/ES256 tokens of an identity provider verified against its JWKS ([`super::jwks`]). Both
//! are validated strictly: the algorithm must be in the configured set, the header may not name
//! its own key (`jku`, `x5u`, `x5c`, `jwk`) or critical extensions, `exp`/`iss`/`aud`/`sub` are
//! required, `nbf` is checked, with a few seconds of leeway. Each kind of key has its own issuer
//! and audience, so a token of one kind is never taken for the other.

use std::collections::HashSet;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jwks::{Jwks, Lookup};
use super::{Actor, Role};
use crate::config::Secret;

/// The `iss` every token must carry.
pub const ISSUER: &str = "hq-api";
/// The `aud` every token must carry.
pub const AUDIENCE: &str = "hq-api";
/// The `aud` of a download link's token: a link is never a bearer token, nor a bearer token a link.
pub const DOWNLOAD_AUDIENCE: &str = "hq-api-download";
/// The longest life of a download link, in seconds.
pub const DOWNLOAD_TTL_SECONDS: i64 = 300;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// The claims of an hq-api token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: who the actor is.
    pub sub: String,
    /// One of the five roles.
    pub role: String,
    /// 6-digit district code, for and only for `DISTRICT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Must be `hq-api`.
    pub iss: String,
    /// Must be `hq-api`.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// The claims of a download link: one file, for one actor, until `exp`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DownloadClaims {
    sub: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    iss: String,
    aud: String,
    exp: i64,
    iat: i64,
    /// The file, as its path under `/exports/` (`settlements/2023.xlsx`).
    file: String,
}

/// Why a token was refused. The client sees only `UNAUTHENTICATED` and this text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a well-formed, correctly signed token for this service.
    #[error("invalid token")]
    Invalid,
    /// Signed and well-formed, but expired.
    #[error("token expired")]
    Expired,
    /// Not valid yet (`nbf` in the future).
    #[error("token not yet valid")]
    NotYetValid,
    /// The role is not one of the five.
    #[error("unknown role in token")]
    UnknownRole,
    /// A `DISTRICT` token without a known district, or a district on another role.
    #[error("invalid district in token")]
    BadDistrict,
    /// The `Authorization` header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    BadHeader,
    /// The token's `alg` is not in the configured set (`HQ_JWT_ALGORITHMS`).
    #[error("token algorithm not accepted")]
    AlgorithmNotAccepted,
    /// The header names a key or where to find one (`jku`, `x5u`, `x5c`, `jwk`), or critical
    /// extensions (`crit`): the keys are the configured ones only.
    #[error("token header names its own key or critical extensions")]
    KeyInHeader,
    /// No key of the identity provider has the token's `kid`, even after fetching its keys again.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The identity provider's keys have not been loaded yet.
    #[error("the identity provider's keys are not loaded yet")]
    KeysUnavailable,
}

/// The claims that carry the role and the district (`HQ_ROLE_CLAIM`, `HQ_DISTRICT_CLAIM`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The role's claim (default `role`).
    pub role: String,
    /// The district's claim (default `district`).
    pub district: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            role: "role".into(),
            district: "district".into(),
        }
    }
}

/// The identity provider: its keys and the claims its tokens must carry.
#[derive(Clone)]
struct IdentityProvider {
    jwks: Arc<Jwks>,
    validation: Validation,
}

/// The validation rules shared by every bearer token, for `issuer` and `audience`.
fn strict_validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation
}

fn decode_error(err: &jsonwebtoken::errors::Error) -> TokenError {
    match err.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
        jsonwebtoken::errors::ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        _ => TokenError::Invalid,
    }
}

/// Signing and verifying keys with the validation rules.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The service's own HS256 tokens: `iss` = `aud` = `hq-api`.
    validation: Validation,
    /// The algorithms a bearer token may use.
    algorithms: Vec<Algorithm>,
    claim_names: ClaimNames,
    identity_provider: Option<IdentityProvider>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(**redacted**)")
    }
}

impl JwtKeys {
    /// Keys for HS256 with `secret`, accepting HS256 bearer tokens only, with the role and the
    /// district in the claims `role` and `district`.
    pub fn hs256(secret: &Secret) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation: strict_validation(Algorithm::HS256, ISSUER, AUDIENCE),
            algorithms: vec![Algorithm::HS256],
            claim_names: ClaimNames::default(),
            identity_provider: None,
        }
    }

    /// The same keys, accepting bearer tokens of `algorithms` only (HS256, RS256, ES256; RS256
    /// and ES256 need an identity provider).
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// The same keys, reading (and minting) the role and the district under `names`.
    #[must_use]
    pub fn with_claim_names(mut self, names: ClaimNames) -> Self {
        self.claim_names = names;
        self
    }

    /// The same keys, also verifying RS256/ES256 tokens against `jwks`; such a token must carry
    /// `iss` = `issuer` and `aud` = `audience` (or a list containing it).
    #[must_use]
    pub fn with_identity_provider(mut self, jwks: Arc<Jwks>, issuer: &str, audience: &str) -> Self {
        let validation = strict_validation(Algorithm::RS256, issuer, audience);
        self.identity_provider = Some(IdentityProvider { jwks, validation });
        self
    }

    /// Whether bearer tokens of `algorithm` are accepted.
    pub fn accepts(&self, algorithm: Algorithm) -> bool {
        self.algorithms.contains(&algorithm)
    }

    /// Signs a token for `role` (and `district` for `DISTRICT`) valid for `ttl` from now.
    ///
    /// # Errors
    /// A district on a non-district role or a missing district on `DISTRICT` (`BadDistrict`);
    /// a signing failure (`Invalid`).
    pub fn mint(
        &self,
        sub: &str,
        role: Role,
        district: Option<&str>,
        ttl: chrono::Duration,
    ) -> Result<String, TokenError> {
        if (role == Role::District) != district.is_some() {
            return Err(TokenError::BadDistrict);
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_string(),
            role: role.as_str().to_string(),
            district: district.map(str::to_string),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + ttl.num_seconds(),
            nbf: Some(now),
            iat: Some(now),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims with HS256, the role and the district under the configured claim
    /// names (used by `mint` and by tests that need odd tokens).
    ///
    /// # Errors
    /// `Invalid` if signing fails.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let Ok(Value::Object(mut map)) = serde_json::to_value(claims) else {
            return Err(TokenError::Invalid);
        };
        for (name, configured) in [
            ("role", &self.claim_names.role),
            ("district", &self.claim_names.district),
        ] {
            if let Some(value) = map.remove(name) {
                map.insert(configured.clone(), value);
            }
        }
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &map, &self.encoding)
            .map_err(|_| TokenError::Invalid)
    }

    /// Verifies `token` with the keys held now and returns its actor. `known_districts` are the
    /// district codes a `DISTRICT` token may name.
    ///
    /// # Errors
    /// Every token failure: a header naming its own key, an `alg` not configured (including
    /// `none`), an unknown `kid` (`UnknownKey`: fetching the keys again may help, see
    /// [`JwtKeys::verify_header`]), bad signature, expired, not yet valid, wrong issuer or
    /// audience, missing required claims, unknown role, a district token without a known
    /// district.
    pub fn verify(
        &self,
        token: &str,
        known_districts: &HashSet<String>,
    ) -> Result<Actor, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.jwk.is_some()
            || header.crit.is_some()
        {
            return Err(TokenError::KeyInHeader);
        }
        if !self.accepts(header.alg) {
            return Err(TokenError::AlgorithmNotAccepted);
        }
        let claims = match header.alg {
            // The secret only ever verifies HS256, and HS256 only ever uses the secret: a
            // token "signed" with a public key's bytes fails here.
            Algorithm::HS256 => {
                jsonwebtoken::decode::<serde_json::Map<String, Value>>(
                    token,
                    &self.decoding,
                    &self.validation,
                )
                .map_err(|err| decode_error(&err))?
                .claims
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                let idp = self
                    .identity_provider
                    .as_ref()
                    .ok_or(TokenError::AlgorithmNotAccepted)?;
                let keys = idp.jwks.current().ok_or(TokenError::KeysUnavailable)?;
                let key = match keys.find(header.kid.as_deref(), header.alg) {
                    Lookup::Found(key) => key,
                    Lookup::WrongAlgorithm => return Err(TokenError::Invalid),
                    Lookup::Unknown => return Err(TokenError::UnknownKey),
                };
                // The library wants every algorithm of the validation in the key's family.
                let mut validation = idp.validation.clone();
                validation.algorithms = vec![header.alg];
                jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, &validation)
                    .map_err(|err| decode_error(&err))?
                    .claims
            }
            _ => return Err(TokenError::AlgorithmNotAccepted),
        };
        self.actor_of(&claims, known_districts)
    }

    /// The actor of verified claims.
    fn actor_of(
        &self,
        claims: &serde_json::Map<String, Value>,
        known_districts: &HashSet<String>,
    ) -> Result<Actor, TokenError> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|sub| !sub.trim().is_empty())
            .ok_or(TokenError::Invalid)?;
        let role: Role = claims
            .get(&self.claim_names.role)
            .and_then(Value::as_str)
            .ok_or(TokenError::UnknownRole)?
            .parse()
            .map_err(|_| TokenError::UnknownRole)?;
        let district = match claims.get(&self.claim_names.district) {
            None | Some(Value::Null) => None,
            Some(Value::String(code)) => Some(code.clone()),
            Some(_) => return Err(TokenError::BadDistrict),
        };
        let district = match (role, district) {
            (Role::District, Some(code)) if known_districts.contains(&code) => Some(code),
            (Role::District, _) => return Err(TokenError::BadDistrict),
            (_, Some(_)) => return Err(TokenError::BadDistrict),
            (_, None) => None,
        };
        Ok(Actor {
            sub: sub.to_string(),
            role,
            district,
        })
    }

    /// Signs a download link's token: `file` for `actor`, valid [`DOWNLOAD_TTL_SECONDS`].
    ///
    /// # Errors
    /// `Invalid` if signing fails.
    pub fn sign_download(&self, actor: &Actor, file: &str) -> Result<(String, i64), TokenError> {
        let now = chrono::Utc::now().timestamp();
        let exp = now + DOWNLOAD_TTL_SECONDS;
        let claims = DownloadClaims {
            sub: actor.sub.clone(),
            role: actor.role.as_str().to_string(),
            district: actor.district.clone(),
            iss: ISSUER.into(),
            aud: DOWNLOAD_AUDIENCE.into(),
            exp,
            iat: now,
            file: file.to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok((token, exp))
    }

    /// Verifies a download link's token and returns its actor and file. A token issued for
    /// longer than [`DOWNLOAD_TTL_SECONDS`] is refused, whoever signed it.
    ///
    /// # Errors
    /// As [`JwtKeys::verify`]; a bearer token (another audience) is `Invalid`.
    pub fn verify_download(
        &self,
        token: &str,
        known_districts: &HashSet<String>,
    ) -> Result<(Actor, String), TokenError> {
        let mut validation = self.validation.clone();
        validation.set_audience(&[DOWNLOAD_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<DownloadClaims>(token, &self.decoding, &validation)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        if claims.sub.trim().is_empty() || claims.exp - claims.iat > DOWNLOAD_TTL_SECONDS {
            return Err(TokenError::Invalid);
        }
        let role: Role = claims.role.parse().map_err(|_| TokenError::UnknownRole)?;
        let district = match (role, claims.district) {
            (Role::District, Some(code)) if known_districts.contains(&code) => Some(code),
            (Role::District, _) | (_, Some(_)) => return Err(TokenError::BadDistrict),
            (_, None) => None,
        };
        Ok((
            Actor {
                sub: claims.sub,
                role,
                district,
            },
            claims.file,
        ))
    }

    /// Verifies an `Authorization` header value (`Bearer <token>`). A token of the identity
    /// provider whose `kid` is unknown (or that comes before its keys are loaded) has the keys
    /// fetched once more, at most once per `HQ_JWKS_MIN_REFRESH` whoever asks, and is verified
    /// again.
    ///
    /// # Errors
    /// `BadHeader` for another scheme, else as [`JwtKeys::verify`].
    pub async fn verify_header(
        &self,
        header: &str,
        known_districts: &HashSet<String>,
    ) -> Result<Actor, TokenError> {
        let token = bearer_token(header)?;
        match self.verify(token, known_districts) {
            Err(TokenError::UnknownKey | TokenError::KeysUnavailable)
                if self.identity_provider.is_some() =>
            {
                if let Some(idp) = &self.identity_provider {
                    idp.jwks.refresh_for_unknown_key().await;
                }
                self.verify(token, known_districts)
            }
            other => other,
        }
    }
}

/// The token of an `Authorization` header value (`Bearer <token>`).
///
/// # Errors
/// `BadHeader` for another scheme or an empty token.
pub fn bearer_token(header: &str) -> Result<&str, TokenError> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::BadHeader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::hs256(&Secret::new("0123456789abcdef0123456789abcdef-test"))
    }

    fn districts() -> HashSet<String> {
        ["330106".to_string()].into_iter().collect()
    }

    fn claims() -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "alice".into(),
            role: "VIEWER".into(),
            district: None,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + 600,
            nbf: None,
            iat: Some(now),
        }
    }

    #[test]
    fn a_download_token_names_its_file_and_actor_and_is_never_a_bearer_token() {
        let keys = keys();
        let actor = Actor {
            sub: "clerk".into(),
            role: Role::District,
            district: Some("330106".into()),
        };
        let (token, exp) = keys.sign_download(&actor, "settlements/2024.csv").unwrap();
        assert!(exp - chrono::Utc::now().timestamp() <= DOWNLOAD_TTL_SECONDS);
        let (back, file) = keys.verify_download(&token, &districts()).unwrap();
        assert_eq!(back, actor);
        assert_eq!(file, "settlements/2024.csv");
        assert_eq!(keys.verify(&token, &districts()), Err(TokenError::Invalid));
        let bearer = keys
            .mint(
                "clerk",
                Role::District,
                Some("330106"),
                chrono::Duration::hours(1),
            )
            .unwrap();
        assert_eq!(
            keys.verify_download(&bearer, &districts()).map(|_| ()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_minted_token_verifies_to_its_actor() {
        let keys = keys();
        let token = keys
            .mint(
                "d1",
                Role::District,
                Some("330106"),
                chrono::Duration::hours(1),
            )
            .unwrap();
        let actor = keys.verify(&token, &districts()).unwrap();
        assert_eq!(actor.role, Role::District);
        assert_eq!(actor.district.as_deref(), Some("330106"));
    }

    #[test]
    fn a_token_expired_thirty_seconds_ago_is_refused() {
        let keys = keys();
        let mut c = claims();
        c.exp = chrono::Utc::now().timestamp() - 30;
        let token = keys.sign(&c).unwrap();
        assert_eq!(keys.verify(&token, &districts()), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_with_a_future_nbf_is_refused() {
        let keys = keys();
        let mut c = claims();
        c.nbf = Some(chrono::Utc::now().timestamp() + 120);
        let token = keys.sign(&c).unwrap();
        assert_eq!(
            keys.verify(&token, &districts()),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn wrong_issuer_audience_role_or_district_is_refused() {
        let keys = keys();
        let cases: Vec<(Claims, TokenError)> = vec![
            (
                Claims {
                    iss: "other".into(),
                    ..claims()
                },
                TokenError::Invalid,
            ),
            (
                Claims {
                    aud: "other".into(),
                    ..claims()
                },
                TokenError::Invalid,
            ),
            (
                Claims {
                    role: "ADMIN".into(),
                    ..claims()
                },
                TokenError::UnknownRole,
            ),
            (
                Claims {
                    sub: " ".into(),
                    ..claims()
                },
                TokenError::Invalid,
            ),
            (
                Claims {
                    role: "DISTRICT".into(),
                    ..claims()
                },
                TokenError::BadDistrict,
            ),
            (
                Claims {
                    role: "DISTRICT".into(),
                    district: Some("330103".into()),
                    ..claims()
                },
                TokenError::BadDistrict,
            ),
            (
                Claims {
                    district: Some("330106".into()),
                    ..claims()
                },
                TokenError::BadDistrict,
            ),
        ];
        for (c, expected) in cases {
            let token = keys.sign(&c).unwrap();
            assert_eq!(keys.verify(&token, &districts()), Err(expected), "{c:?}");
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = JwtKeys::hs256(&Secret::new("another-secret-of-sufficient-length!!"));
        let token = other.sign(&claims()).unwrap();
        assert_eq!(
            keys().verify(&token, &districts()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        use base64_like::encode;
        let header = encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = encode(serde_json::to_string(&claims()).unwrap().as_bytes());
        let token = format!("{header}.{payload}.");
        assert_eq!(
            keys().verify(&token, &districts()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_token_signed_with_another_algorithm_is_refused() {
        let secret = Secret::new("0123456789abcdef0123456789abcdef-test");
        let key = EncodingKey::from_secret(secret.expose());
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token = jsonwebtoken::encode(&Header::new(alg), &claims(), &key).unwrap();
            assert_eq!(
                keys().verify(&token, &districts()),
                Err(TokenError::AlgorithmNotAccepted),
                "{alg:?}"
            );
        }
    }

    #[tokio::test]
    async fn only_the_bearer_scheme_is_accepted() {
        let keys = keys();
        let token = keys.sign(&claims()).unwrap();
        assert!(
            keys.verify_header(&format!("Bearer {token}"), &districts())
                .await
                .is_ok()
        );
        assert_eq!(
            keys.verify_header(&format!("Basic {token}"), &districts())
                .await,
            Err(TokenError::BadHeader)
        );
        assert_eq!(
            keys.verify_header("Bearer ", &districts()).await,
            Err(TokenError::BadHeader)
        );
    }

    #[test]
    fn the_role_and_district_claims_have_the_configured_names() {
        let names = ClaimNames {
            role: "https://hq.hangzhou.gov.cn/role".into(),
            district: "hq_district".into(),
        };
        let custom = keys().with_claim_names(names);
        let token = custom
            .mint(
                "d1",
                Role::District,
                Some("330106"),
                chrono::Duration::hours(1),
            )
            .unwrap();
        let actor = custom.verify(&token, &districts()).unwrap();
        assert_eq!(actor.district.as_deref(), Some("330106"));
        // Under the default names the role is missing.
        assert_eq!(
            keys().verify(&token, &districts()),
            Err(TokenError::UnknownRole)
        );
        let plain = keys().sign(&claims()).unwrap();
        assert_eq!(
            custom.verify(&plain, &districts()),
            Err(TokenError::UnknownRole)
        );
    }

    #[test]
    fn a_header_naming_its_own_key_is_refused_before_anything_else() {
        let secret = Secret::new("0123456789abcdef0123456789abcdef-test");
        let key = EncodingKey::from_secret(secret.expose());
        let mut headers = Vec::new();
        for field in ["jku", "x5u"] {
            let mut header = Header::new(Algorithm::HS256);
            header.jku = (field == "jku").then(|| "https://evil.example/jwks".into());
            header.x5u = (field == "x5u").then(|| "https://evil.example/cert".into());
            headers.push(header);
        }
        let mut header = Header::new(Algorithm::HS256);
        header.x5c = Some(vec!["MIIB".into()]);
        headers.push(header);
        let mut header = Header::new(Algorithm::HS256);
        header.crit = Some(vec!["exp".into()]);
        headers.push(header);
        for header in headers {
            let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
            assert_eq!(
                keys().verify(&token, &districts()),
                Err(TokenError::KeyInHeader),
                "{header:?}"
            );
        }
    }

    #[test]
    fn an_algorithm_outside_the_configured_set_is_refused() {
        let token = keys().sign(&claims()).unwrap();
        let rs_only = keys().with_algorithms(&[Algorithm::RS256]);
        assert_eq!(
            rs_only.verify(&token, &districts()),
            Err(TokenError::AlgorithmNotAccepted)
        );
        // RS256 configured without an identity provider verifies nothing.
        let forged = format!(
            "{}.{}.AAAA",
            base64_like::encode(br#"{"alg":"RS256","kid":"k"}"#),
            base64_like::encode(serde_json::to_string(&claims()).unwrap().as_bytes())
        );
        assert_eq!(
            rs_only.verify(&forged, &districts()),
            Err(TokenError::AlgorithmNotAccepted)
        );
    }

    /// Minimal unpadded base64url, so the test can forge a header the library would never sign.
    mod base64_like {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        pub fn encode(bytes: &[u8]) -> String {
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
