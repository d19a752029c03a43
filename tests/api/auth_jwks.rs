//! Tokens of an identity provider: RS256 and ES256 tokens verified against a JWKS that the test
//! serves on loopback (or writes to a file), with the same strict claims as the service's own
//! HS256 tokens, key rotation, a bounded refresh on an unknown `kid`, and the refusals: an
//! algorithm not configured, HS256 signed with a public key, a header naming its own key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use hq_api::auth::Role;
use hq_api::config::{JwtAlgorithms, Settings};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, free_port, spawn_app_with};

/// The identity provider's `iss`.
const IDP: &str = "https://sso.hangzhou.gov.cn/realms/hq";
const ME: &str = "{ me { sub role district { code } } }";

/// A private key of the identity provider, with the public JWK the JWKS publishes.
#[derive(Clone)]
struct IdpKey {
    algorithm: Algorithm,
    encoding: EncodingKey,
    /// The RSA public key's PKCS#1 DER and PEM (empty for EC), for algorithm-confusion attempts.
    public_der: Vec<u8>,
    public_pem: String,
}

impl IdpKey {
    /// The public JWK under `kid`.
    fn jwk(&self, kid: &str) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.algorithm).unwrap();
        jwk.common.key_id = Some(kid.into());
        serde_json::to_value(jwk).unwrap()
    }

    /// A token with `claims`, `kid` in the header, signed with this key.
    fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(kid.into());
        self.sign_with(header, claims)
    }

    fn sign_with(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn rsa_key() -> IdpKey {
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = private.to_public_key();
    IdpKey {
        algorithm: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        public_der: public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
    }
}

fn ec_key() -> IdpKey {
    use p256::pkcs8::EncodePrivateKey;
    let private = p256::SecretKey::random(&mut rand::rngs::OsRng);
    IdpKey {
        algorithm: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(private.to_pkcs8_der().unwrap().as_bytes()),
        public_der: Vec::new(),
        public_pem: String::new(),
    }
}

/// Keys made once for the whole test binary (an RSA key takes a while to generate).
static RSA_A: LazyLock<IdpKey> = LazyLock::new(rsa_key);
static RSA_B: LazyLock<IdpKey> = LazyLock::new(rsa_key);
static EC_A: LazyLock<IdpKey> = LazyLock::new(ec_key);
static EC_B: LazyLock<IdpKey> = LazyLock::new(ec_key);

/// Makes every key before a test talks to a service: generating an RSA key blocks its thread
/// for seconds, long enough for an idle keep-alive connection to be closed under the client.
fn keys_made() {
    for key in [&RSA_A, &RSA_B, &EC_A, &EC_B] {
        LazyLock::force(key);
    }
}

/// Claims of a valid identity-provider token for `role` (and `district`).
fn claims(role: &str, district: Option<&str>) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "idp:wang.li", "iss": IDP, "aud": "hq-api",
        "exp": now + 600, "nbf": now, "iat": now, "role": role,
    });
    if let Some(code) = district {
        claims["district"] = json!(code);
    }
    claims
}

fn viewer() -> Value {
    claims("VIEWER", None)
}

/// `claims` with `changes` applied (a `null` removes the claim).
fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// A JWKS served on loopback, whose keys the test changes, counting the requests.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: Vec<Value>) -> Self {
        keys_made();
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), keys)
    }

    fn start_on(listener: TcpListener, keys: Vec<Value>) -> Self {
        keys_made();
        let url = format!(
            "http://127.0.0.1:{}/.well-known/jwks.json",
            listener.local_addr().unwrap().port()
        );
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (keys.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (keys, hits) = (served.clone(), counted.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16_384 {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    hits.fetch_add(1, Ordering::SeqCst);
                    let body = json!({ "keys": *keys.lock().unwrap() }).to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        JwksServer { url, keys, hits }
    }

    fn publish(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Settings trusting the JWKS at `url` (HS256 stays on: the test settings set a secret).
fn trust(settings: &mut Settings, url: &str) {
    settings.jwks_url = Some(url.into());
    settings.jwks_issuer = Some(IDP.into());
}

/// A service trusting `server`, adjusted by `adjust`.
async fn app_trusting(server: &JwksServer, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let url = server.url.clone();
    spawn_app_with(move |settings| {
        trust(settings, &url);
        adjust(settings);
    })
    .await
}

async fn me(app: &TestApp, token: &str) -> crate::helpers::Gql {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"));
    crate::helpers::Gql { status, body }
}

async fn assert_accepted(app: &TestApp, token: &str, case: &str) -> Value {
    let res = me(app, token).await;
    assert_eq!(res.status, 200, "{case}: {}", res.body);
    assert!(res.body.get("errors").is_none(), "{case}: {}", res.body);
    res.body["data"]["me"].clone()
}

/// Refused as UNAUTHENTICATED, with `message` when given.
async fn assert_refused(app: &TestApp, token: &str, message: Option<&str>, case: &str) {
    let res = me(app, token).await;
    assert_eq!(res.status, 401, "{case}: {}", res.body);
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"), "{case}");
    assert!(res.body["data"].is_null(), "{case}");
    if let Some(message) = message {
        assert_eq!(
            res.body["errors"][0]["message"].as_str(),
            Some(message),
            "{case}"
        );
    }
}

const NOT_ACCEPTED: Option<&str> = Some("token algorithm not accepted");
const KEY_IN_HEADER: Option<&str> = Some("token header names its own key or critical extensions");
const UNKNOWN_KEY: Option<&str> = Some("token signed with an unknown key");
const INVALID: Option<&str> = Some("invalid token");

#[tokio::test]
async fn rs256_and_es256_tokens_of_the_identity_provider_are_accepted_beside_hs256() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1"), EC_A.jwk("ec-1")]).await;
    let app = app_trusting(&server, |_| {}).await;

    let rs = RSA_A.sign("rsa-1", &claims("DISTRICT", Some("330106")));
    let me = assert_accepted(&app, &rs, "RS256").await;
    assert_eq!(me["sub"], "idp:wang.li");
    assert_eq!(me["role"], "DISTRICT");
    assert_eq!(me["district"]["code"], "330106");

    let es = EC_A.sign("ec-1", &claims("CITY_FINANCE", None));
    assert_eq!(
        assert_accepted(&app, &es, "ES256").await["role"],
        "CITY_FINANCE"
    );

    // An audience list containing hq-api is accepted, as identity providers send it.
    let listed = RSA_A.sign(
        "rsa-1",
        &with(viewer(), json!({ "aud": ["portal", "hq-api"] })),
    );
    assert_accepted(&app, &listed, "aud as a list").await;

    // HQ_JWT_SECRET is set, so the service's own tokens still work.
    let own = app.token(Role::Viewer, None);
    assert_accepted(&app, &own, "HS256").await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_published_kid_is_refused() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1"), EC_A.jwk("ec-1")]).await;
    let app = app_trusting(&server, |_| {}).await;
    let forged_rs = RSA_B.sign("rsa-1", &viewer());
    assert_refused(&app, &forged_rs, INVALID, "RSA key B under A's kid").await;
    let forged_es = EC_B.sign("ec-1", &viewer());
    assert_refused(&app, &forged_es, INVALID, "EC key B under A's kid").await;
    // The kid of an RSA key on an ES256 token: never a key of the wrong type.
    let crossed = EC_A.sign("rsa-1", &viewer());
    assert_refused(&app, &crossed, INVALID, "ES256 naming an RSA key").await;
}

#[tokio::test]
async fn every_bad_claim_of_an_identity_provider_token_is_refused() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1")]).await;
    let app = app_trusting(&server, |_| {}).await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            "expired 30 s ago",
            json!({ "exp": now - 30 }),
            Some("token expired"),
        ),
        (
            "not yet valid",
            json!({ "nbf": now + 300 }),
            Some("token not yet valid"),
        ),
        (
            "wrong issuer",
            json!({ "iss": "https://sso.example.org" }),
            INVALID,
        ),
        // The service's own issuer is not the identity provider's.
        ("the service's issuer", json!({ "iss": "hq-api" }), INVALID),
        ("wrong audience", json!({ "aud": "portal" }), INVALID),
        ("no exp", json!({ "exp": null }), INVALID),
        ("no sub", json!({ "sub": null }), INVALID),
        ("blank sub", json!({ "sub": " " }), INVALID),
        (
            "no role",
            json!({ "role": null }),
            Some("unknown role in token"),
        ),
        (
            "unknown role",
            json!({ "role": "ADMIN" }),
            Some("unknown role in token"),
        ),
        (
            "district on a viewer",
            json!({ "district": "330106" }),
            Some("invalid district in token"),
        ),
    ];
    for (case, changes, message) in cases {
        let token = RSA_A.sign("rsa-1", &with(viewer(), changes));
        assert_refused(&app, &token, message, case).await;
    }
    let no_district = RSA_A.sign("rsa-1", &claims("DISTRICT", None));
    assert_refused(
        &app,
        &no_district,
        Some("invalid district in token"),
        "district token without district",
    )
    .await;
    let unknown = RSA_A.sign("rsa-1", &claims("DISTRICT", Some("330103")));
    assert_refused(
        &app,
        &unknown,
        Some("invalid district in token"),
        "unknown district",
    )
    .await;
    // Nor does the secret verify a token with the identity provider's issuer.
    let mut own = app.viewer_claims();
    own.iss = IDP.into();
    assert_refused(
        &app,
        &app.sign(&own),
        INVALID,
        "HS256 with the provider's issuer",
    )
    .await;
}

#[tokio::test]
async fn an_algorithm_outside_the_configured_set_is_refused() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1"), EC_A.jwk("ec-1")]).await;
    let app = app_trusting(&server, |s| {
        s.jwt_algorithms = Some(JwtAlgorithms(vec![Algorithm::RS256]));
    })
    .await;
    assert_accepted(&app, &RSA_A.sign("rsa-1", &viewer()), "RS256").await;
    let es = EC_A.sign("ec-1", &viewer());
    assert_refused(&app, &es, NOT_ACCEPTED, "ES256 not configured").await;
    let own = app.token(Role::Viewer, None);
    assert_refused(&app, &own, NOT_ACCEPTED, "HS256 not configured").await;
    // RS384 with a published RSA key: never configurable.
    let mut header = Header::new(Algorithm::RS384);
    header.kid = Some("rsa-1".into());
    let rs384 = RSA_A.sign_with(header, &viewer());
    assert_refused(&app, &rs384, NOT_ACCEPTED, "RS384").await;
    // alg none, with and without a kid.
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"none","kid":"rsa-1"}"#,
    ] {
        let token = format!(
            "{}.{}.",
            base64url(header.as_bytes()),
            base64url(viewer().to_string().as_bytes())
        );
        assert_refused(&app, &token, INVALID, header).await;
    }
}

#[tokio::test]
async fn hs256_signed_with_the_identity_providers_public_key_is_refused() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1")]).await;
    let public_jwk = RSA_A.jwk("rsa-1").to_string();
    let secrets: [(&str, &[u8]); 3] = [
        ("PKCS#1 DER", &RSA_A.public_der),
        ("PEM", RSA_A.public_pem.as_bytes()),
        ("JWK", public_jwk.as_bytes()),
    ];
    // Only the identity provider is trusted: HS256 is not in the set.
    let idp_only = app_trusting(&server, |s| {
        s.jwt_algorithms = Some(JwtAlgorithms(vec![Algorithm::RS256, Algorithm::ES256]));
    })
    .await;
    // Both are trusted: HS256 is verified with the secret, never with a published key.
    let both = app_trusting(&server, |_| {}).await;
    for (form, secret) in secrets {
        for kid in [None, Some("rsa-1")] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = kid.map(str::to_string);
            let token = jsonwebtoken::encode(&header, &viewer(), &EncodingKey::from_secret(secret))
                .unwrap();
            let case = format!("{form}, kid {kid:?}");
            assert_refused(&idp_only, &token, NOT_ACCEPTED, &case).await;
            assert_refused(&both, &token, INVALID, &case).await;
        }
    }
}

#[tokio::test]
async fn a_header_naming_its_own_key_is_refused_even_when_the_signature_is_good() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1")]).await;
    let app = app_trusting(&server, |_| {}).await;
    let header = || {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".into());
        header
    };
    let mut jku = header();
    jku.jku = Some("https://attacker.example/jwks.json".into());
    let mut x5u = header();
    x5u.x5u = Some("https://attacker.example/cert.pem".into());
    let mut genuine_jwk = header();
    genuine_jwk.jwk = Some(serde_json::from_value(RSA_A.jwk("rsa-1")).unwrap());
    for (case, header) in [("jku", jku), ("x5u", x5u), ("jwk", genuine_jwk)] {
        // Signed with the published key: only the header is wrong.
        let token = RSA_A.sign_with(header, &viewer());
        assert_refused(&app, &token, KEY_IN_HEADER, case).await;
    }
    // An attacker's own key embedded in the header and used to sign.
    let mut attacker = Header::new(Algorithm::RS256);
    attacker.jwk = Some(serde_json::from_value(RSA_B.jwk("mine")).unwrap());
    let token = RSA_B.sign_with(attacker, &viewer());
    assert_refused(&app, &token, KEY_IN_HEADER, "attacker's jwk").await;
    assert_eq!(
        server.hits(),
        1,
        "no header made the service fetch anything"
    );
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_once_then_not_again_within_the_interval() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1")]).await;
    let app = app_trusting(&server, |_| {}).await;
    assert_eq!(server.hits(), 1, "loaded at start-up");
    assert_accepted(&app, &RSA_A.sign("rsa-1", &viewer()), "known kid").await;
    assert_eq!(server.hits(), 1, "a known kid fetches nothing");

    let unknown = RSA_B.sign("rsa-unknown", &viewer());
    assert_refused(&app, &unknown, UNKNOWN_KEY, "unknown kid").await;
    assert_eq!(server.hits(), 2, "one fetch for the unknown kid");

    // A flood of made-up kids within HQ_JWKS_MIN_REFRESH (30 s): no further fetch.
    let flood = (0..20).map(|i| {
        let token = RSA_B.sign(&format!("made-up-{i}"), &viewer());
        let app = &app;
        async move { me(app, &token).await.status }
    });
    let statuses = futures_util::future::join_all(flood).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(server.hits(), 2, "the flood fetched nothing more");
}

#[tokio::test]
async fn keys_rotate_with_old_and_new_kid_valid_during_the_overlap() {
    let server = JwksServer::start(vec![RSA_A.jwk("2026-01")]).await;
    // No bound between fetches, so each step below fetches when it needs to.
    let app = app_trusting(&server, |s| s.jwks_min_refresh = Duration::ZERO).await;
    let old = RSA_A.sign("2026-01", &viewer());
    let new = EC_A.sign("2026-02", &viewer());
    assert_accepted(&app, &old, "old key before the rotation").await;
    assert_refused(&app, &new, UNKNOWN_KEY, "new key not yet published").await;

    // The provider publishes the new key beside the old one.
    server.publish(vec![RSA_A.jwk("2026-01"), EC_A.jwk("2026-02")]);
    assert_accepted(&app, &new, "new key, fetched on its unknown kid").await;
    assert_accepted(&app, &old, "old key during the overlap").await;

    // The provider retires the old key and publishes the next one; the next kid makes the
    // service fetch the set, which no longer holds the old key.
    server.publish(vec![EC_A.jwk("2026-02"), RSA_B.jwk("2026-03")]);
    let next = RSA_B.sign("2026-03", &viewer());
    assert_accepted(&app, &next, "next key").await;
    assert_refused(&app, &old, UNKNOWN_KEY, "old key after it was removed").await;
    assert_accepted(&app, &new, "new key still").await;
}

#[tokio::test]
async fn the_keys_are_fetched_again_on_schedule_and_a_removed_key_is_then_refused() {
    let server = JwksServer::start(vec![RSA_A.jwk("2026-01"), EC_A.jwk("2026-02")]).await;
    let app = app_trusting(&server, |s| s.jwks_refresh = Duration::from_millis(50)).await;
    let old = RSA_A.sign("2026-01", &viewer());
    assert_accepted(&app, &old, "before the removal").await;

    server.publish(vec![EC_A.jwk("2026-02")]);
    // Fetches run one after another: once a second one has begun after the removal, the first
    // (which served the new set) has been stored.
    let published_at = server.hits();
    for _ in 0..400 {
        if server.hits() >= published_at + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        server.hits() >= published_at + 2,
        "the schedule fetched the set"
    );
    // While the old key was held, its token verified without a fetch: refused now, it was the
    // schedule that dropped it.
    assert_refused(&app, &old, UNKNOWN_KEY, "after the scheduled fetch").await;
    assert_accepted(&app, &EC_A.sign("2026-02", &viewer()), "the key kept").await;
}

#[tokio::test]
async fn role_and_district_may_come_from_other_claims() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1")]).await;
    let app = app_trusting(&server, |s| {
        s.role_claim = "https://hq.hangzhou.gov.cn/role".into();
        s.district_claim = "hq_district".into();
    })
    .await;
    let custom = with(
        viewer(),
        json!({ "role": null, "https://hq.hangzhou.gov.cn/role": "DISTRICT", "hq_district": "330108" }),
    );
    let me = assert_accepted(&app, &RSA_A.sign("rsa-1", &custom), "custom names").await;
    assert_eq!(me["role"], "DISTRICT");
    assert_eq!(me["district"]["code"], "330108");
    // The default names are not read any more.
    let plain = RSA_A.sign("rsa-1", &claims("DISTRICT", Some("330108")));
    assert_refused(&app, &plain, Some("unknown role in token"), "default names").await;
    // The service's own tokens use the configured names too.
    let own = app.keys.clone().with_claim_names(hq_api::auth::ClaimNames {
        role: "https://hq.hangzhou.gov.cn/role".into(),
        district: "hq_district".into(),
    });
    let token = own
        .mint(
            "cli:district",
            Role::District,
            Some("330106"),
            chrono::Duration::hours(1),
        )
        .unwrap();
    assert_eq!(
        assert_accepted(&app, &token, "own token").await["district"]["code"],
        "330106"
    );
}

#[tokio::test]
async fn a_jwks_file_is_trusted_and_read_again_for_an_unknown_kid() {
    keys_made();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let write = |keys: Vec<Value>| {
        std::fs::write(&path, json!({ "keys": keys }).to_string()).unwrap();
    };
    write(vec![EC_A.jwk("ec-1")]);
    let file = path.clone();
    let app = spawn_app_with(move |s| {
        s.jwks_file = Some(file);
        s.jwks_issuer = Some(IDP.into());
        s.jwks_min_refresh = Duration::ZERO;
    })
    .await;
    assert_accepted(&app, &EC_A.sign("ec-1", &viewer()), "ES256 from the file").await;
    let next = RSA_A.sign("rsa-2", &viewer());
    assert_refused(&app, &next, UNKNOWN_KEY, "not in the file yet").await;
    write(vec![EC_A.jwk("ec-1"), RSA_A.jwk("rsa-2")]);
    assert_accepted(&app, &next, "read again").await;
}

#[tokio::test]
async fn a_district_token_of_the_identity_provider_is_confined_to_its_district_like_an_own_one() {
    let server = JwksServer::start(vec![RSA_A.jwk("rsa-1")]).await;
    let app = app_trusting(&server, |_| {}).await;
    let idp = RSA_A.sign("rsa-1", &claims("DISTRICT", Some("330106")));
    let own = app.token(Role::District, Some("330106"));
    let lines =
        "query($d: String!) { paymentLines(districtCode: $d, fiscalYear: 2024) { totalCount } }";
    for district in ["330106", "330108"] {
        let mut from_idp = app.gql(Some(&idp), lines, json!({ "d": district })).await;
        let mut from_own = app.gql(Some(&own), lines, json!({ "d": district })).await;
        assert_eq!(from_idp.status, from_own.status, "{district}");
        for body in [&mut from_idp.body, &mut from_own.body] {
            if let Some(extensions) = body
                .pointer_mut("/errors/0/extensions")
                .and_then(Value::as_object_mut)
            {
                extensions.remove("requestId");
            }
        }
        assert_eq!(from_idp.body, from_own.body, "{district}");
    }
    let other = app.gql(Some(&idp), lines, json!({ "d": "330108" })).await;
    assert_eq!(other.error_code(), Some("FORBIDDEN"), "{}", other.body);
    let mine = app.gql(Some(&idp), lines, json!({ "d": "330106" })).await;
    assert_eq!(mine.data()["paymentLines"]["totalCount"], 0);
}

#[tokio::test]
async fn the_service_starts_while_the_identity_provider_is_down_and_trusts_it_once_it_answers() {
    keys_made();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let app = spawn_app_with(|s| {
        trust(s, &url);
        s.jwks_min_refresh = Duration::ZERO;
    })
    .await;
    let token = RSA_A.sign("rsa-1", &viewer());
    assert_refused(
        &app,
        &token,
        Some("the identity provider's keys are not loaded yet"),
        "provider down",
    )
    .await;
    assert_accepted(&app, &app.token(Role::Viewer, None), "HS256 meanwhile").await;

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let _server = JwksServer::start_on(listener, vec![RSA_A.jwk("rsa-1")]);
    assert_accepted(&app, &token, "provider back").await;
}

#[tokio::test]
async fn an_unreadable_jwks_file_or_inconsistent_settings_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"keys": []}"#).unwrap();
    type Adjust<'a> = Box<dyn Fn(&mut Settings) + 'a>;
    let cases: Vec<(&str, Adjust, &str)> = vec![
        (
            "missing file",
            Box::new(|s| {
                s.jwks_file = Some(missing.clone());
                s.jwks_issuer = Some(IDP.into());
            }),
            "missing.json",
        ),
        (
            "no usable key",
            Box::new(|s| {
                s.jwks_file = Some(empty.clone());
                s.jwks_issuer = Some(IDP.into());
            }),
            "no usable signing key",
        ),
        (
            "no issuer",
            Box::new(|s| s.jwks_url = Some("https://sso.example.org/jwks".into())),
            "HQ_JWKS_ISSUER",
        ),
        (
            "clear text",
            Box::new(|s| trust(s, "http://sso.example.org/jwks")),
            "must be https://",
        ),
        (
            "RS256 without a JWKS",
            Box::new(|s| s.jwt_algorithms = Some(JwtAlgorithms(vec![Algorithm::RS256]))),
            "need HQ_JWKS_URL or HQ_JWKS_FILE",
        ),
    ];
    for (case, adjust, expected) in cases {
        let mut settings = crate::helpers::test_settings(
            "sqlite::memory:",
            "jwks-start-secret-of-32-bytes-or-more",
        );
        adjust(&mut settings);
        let error = match hq_api::startup::Application::build(settings).await {
            Ok(_) => panic!("{case}: the service started"),
            Err(err) => err.to_string(),
        };
        assert!(error.contains(expected), "{case}: {error}");
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
