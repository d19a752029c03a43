//! GraphiQL's page and files come from hq-api itself, with their content types, cache headers and
//! a Content-Security-Policy that allows this origin only.

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_graphiql_page_allows_only_its_own_origin() {
    let app = spawn_app().await;
    let page = app.get("/graphql").await;
    assert_eq!(page.status().as_u16(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(!csp.contains("http"), "no other origin: {csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("//"),
        "no absolute or protocol-relative URL: {html}"
    );
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains("graphiql/graphiql-3.8.3.min.js"));
}

#[tokio::test]
async fn the_vendored_files_are_served_with_their_types_and_cached_for_a_year() {
    let app = spawn_app().await;
    for (file, content_type, cache) in [
        (
            "graphiql-3.8.3.min.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "graphiql-3.8.3.min.css",
            "text/css; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "react-18.3.1.production.min.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "react-dom-18.3.1.production.min.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "hq-graphiql.js",
            "text/javascript; charset=utf-8",
            "no-cache",
        ),
        ("hq-graphiql.css", "text/css; charset=utf-8", "no-cache"),
    ] {
        let response = app.get(&format!("/graphiql/{file}")).await;
        assert_eq!(response.status().as_u16(), 200, "{file}");
        assert_eq!(response.headers()["content-type"], content_type, "{file}");
        assert_eq!(response.headers()["cache-control"], cache, "{file}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    for missing in [
        "manifest.json",
        "LICENSE.react-18.3.1.txt",
        "..%2Fmanifest.json",
        "graphiql.min.js",
    ] {
        let response = app.get(&format!("/graphiql/{missing}")).await;
        assert_eq!(response.status().as_u16(), 404, "{missing}");
    }
}

#[tokio::test]
async fn with_graphiql_off_neither_the_page_nor_its_files_are_served() {
    let app = spawn_app_with(|s| s.graphiql = false).await;
    assert_eq!(app.get("/graphql").await.status().as_u16(), 404);
    assert_eq!(
        app.get("/graphiql/graphiql-3.8.3.min.js")
            .await
            .status()
            .as_u16(),
        404
    );
}
