//! GraphiQL, served whole by hq-api: the page, its script, and the GraphiQL, React and ReactDOM
//! files vendored from the npm registry under `assets/graphiql/` (versions, integrity, sha256 and
//! licences in its `manifest.json`; `scripts/refresh-graphiql.sh` downloads them again). Nothing
//! comes from a CDN, so GraphiQL works on networks without internet, and the page's
//! Content-Security-Policy allows this origin only.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::HttpState;

/// The page's Content-Security-Policy: scripts, styles and calls from this origin only. Fonts
/// and images may also be `data:` URIs (GraphiQL's stylesheet embeds its fonts and icons).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; font-src 'self' data:; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Vendored files never change under their versioned names: a year, immutable.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page and its own script and stylesheet change with hq-api: revalidated each time.
const REVALIDATE: &str = "no-cache";

/// A file served under `/graphiql/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    cache: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the page loads. The vendored ones are listed, with their sha256, in
/// `assets/graphiql/manifest.json` (a test holds the two together).
const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql-3.8.3.min.js",
        content_type: JS,
        cache: IMMUTABLE,
        bytes: include_bytes!("../../assets/graphiql/graphiql-3.8.3.min.js"),
    },
    Asset {
        name: "graphiql-3.8.3.min.css",
        content_type: CSS,
        cache: IMMUTABLE,
        bytes: include_bytes!("../../assets/graphiql/graphiql-3.8.3.min.css"),
    },
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: JS,
        cache: IMMUTABLE,
        bytes: include_bytes!("../../assets/graphiql/react-18.3.1.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: JS,
        cache: IMMUTABLE,
        bytes: include_bytes!("../../assets/graphiql/react-dom-18.3.1.production.min.js"),
    },
    Asset {
        name: "hq-graphiql.js",
        content_type: JS,
        cache: REVALIDATE,
        bytes: include_bytes!("../../assets/graphiql/page/hq-graphiql.js"),
    },
    Asset {
        name: "hq-graphiql.css",
        content_type: CSS,
        cache: REVALIDATE,
        bytes: include_bytes!("../../assets/graphiql/page/hq-graphiql.css"),
    },
];

/// The page (`GET /graphql` without an operation).
const PAGE: &[u8] = include_bytes!("../../assets/graphiql/page/index.html");

/// The GraphiQL page, or 404 when `HQ_GRAPHIQL` is off.
pub(super) fn page(state: &HttpState) -> HttpResponse {
    if !state.graphiql {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, REVALIDATE))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(PAGE)
}

/// `GET /graphiql/{file}`: one of the page's files, or 404.
pub(super) async fn asset(state: web::Data<HttpState>, file: web::Path<String>) -> HttpResponse {
    let found = ASSETS.iter().find(|asset| asset.name == file.as_str());
    match found {
        Some(asset) if state.graphiql => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, asset.cache))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(asset.bytes),
        _ => HttpResponse::NotFound().finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn manifest() -> serde_json::Value {
        serde_json::from_str(include_str!("../../assets/graphiql/manifest.json"))
            .expect("the manifest is JSON")
    }

    #[test]
    fn every_vendored_file_served_is_in_the_manifest_with_its_sha256() {
        let manifest = manifest();
        let listed: Vec<(&str, &str)> = manifest["packages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["files"].as_array().unwrap())
            .map(|f| (f["to"].as_str().unwrap(), f["sha256"].as_str().unwrap()))
            .collect();
        let vendored: Vec<&Asset> = ASSETS.iter().filter(|a| a.cache == IMMUTABLE).collect();
        assert_eq!(vendored.len(), 4);
        for asset in vendored {
            let (_, sha256) = listed
                .iter()
                .find(|(to, _)| *to == asset.name)
                .unwrap_or_else(|| panic!("{} is in the manifest", asset.name));
            let served = format!("{:x}", Sha256::digest(asset.bytes));
            assert_eq!(&served, sha256, "{}", asset.name);
        }
    }

    #[test]
    fn every_vendored_package_names_its_licence_and_keeps_its_text() {
        for package in manifest()["packages"].as_array().unwrap() {
            assert_eq!(package["license"], "MIT", "{package}");
            assert!(
                package["integrity"]
                    .as_str()
                    .unwrap()
                    .starts_with("sha512-")
            );
            let licence = package["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["from"] == "LICENSE")
                .unwrap_or_else(|| panic!("{} keeps its LICENSE", package["name"]));
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets/graphiql")
                .join(licence["to"].as_str().unwrap());
            let text = std::fs::read(&path).unwrap();
            assert!(String::from_utf8_lossy(&text).contains("MIT License"));
            assert_eq!(
                format!("{:x}", Sha256::digest(&text)),
                licence["sha256"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn the_page_loads_only_files_served_here() {
        let page = std::str::from_utf8(PAGE).unwrap();
        let mut loaded = 0;
        for attribute in ["src=\"", "href=\""] {
            for (_, rest) in page.match_indices(attribute).map(|(i, _)| page.split_at(i)) {
                let url = &rest[attribute.len()..];
                let url = &url[..url.find('"').unwrap()];
                if url == "data:," {
                    continue; // no favicon: the browser asks for none
                }
                let name = url
                    .strip_prefix("graphiql/")
                    .unwrap_or_else(|| panic!("{url} is not one of ours"));
                assert!(ASSETS.iter().any(|a| a.name == name), "{url} is served");
                loaded += 1;
            }
        }
        assert_eq!(loaded, 6);
    }
}
