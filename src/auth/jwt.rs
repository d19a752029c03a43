//! HS256 bearer tokens: strict validation (algorithm pinned, `exp`/`iss`/`aud`/`sub` required,
//! `nbf` checked, a few seconds of leeway) and minting for `hq-api token`.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

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
}

/// Signing and verifying keys with the validation rules.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(**redacted**)")
    }
}

impl JwtKeys {
    /// Keys for HS256 with `secret`.
    pub fn hs256(secret: &Secret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }
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

    /// Signs arbitrary claims (used by `mint` and by tests that need odd tokens).
    ///
    /// # Errors
    /// `Invalid` if signing fails.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)
    }

    /// Verifies `token` and returns its actor. `known_districts` are the district codes a
    /// `DISTRICT` token may name.
    ///
    /// # Errors
    /// Every token failure: bad signature, `alg` other than HS256
    /// (including `none`), expired, not yet valid, wrong issuer or audience, missing required
    /// claims, unknown role, a district token without a known district.
    pub fn verify(
        &self,
        token: &str,
        known_districts: &HashSet<String>,
    ) -> Result<Actor, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        if claims.sub.trim().is_empty() {
            return Err(TokenError::Invalid);
        }
        let role: Role = claims.role.parse().map_err(|_| TokenError::UnknownRole)?;
        let district = match (role, claims.district) {
            (Role::District, Some(code)) if known_districts.contains(&code) => Some(code),
            (Role::District, _) => return Err(TokenError::BadDistrict),
            (_, Some(_)) => return Err(TokenError::BadDistrict),
            (_, None) => None,
        };
        Ok(Actor {
            sub: claims.sub,
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

    /// Verifies an `Authorization` header value (`Bearer <token>`).
    ///
    /// # Errors
    /// `BadHeader` for another scheme, else as [`JwtKeys::verify`].
    pub fn verify_header(
        &self,
        header: &str,
        known_districts: &HashSet<String>,
    ) -> Result<Actor, TokenError> {
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::BadHeader)?;
        self.verify(token, known_districts)
    }
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
                Err(TokenError::Invalid),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn only_the_bearer_scheme_is_accepted() {
        let keys = keys();
        let token = keys.sign(&claims()).unwrap();
        assert!(
            keys.verify_header(&format!("Bearer {token}"), &districts())
                .is_ok()
        );
        assert_eq!(
            keys.verify_header(&format!("Basic {token}"), &districts()),
            Err(TokenError::BadHeader)
        );
        assert_eq!(
            keys.verify_header("Bearer ", &districts()),
            Err(TokenError::BadHeader)
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
