//! Headless Chromium (Debian's `chromium`) against the real server, driven by
//! `tests/browser/chromium.mjs` (playwright-core, `npm ci` in `tests/browser`): GraphiQL loads
//! and runs a query with nothing fetched from another host, and a page on another origin calls
//! the API only if its origin is listed in `HQ_CORS_ORIGINS`.
//!
//! Without Chromium, Node or the script's packages the test says it is skipped, unless
//! `HQ_REQUIRE_BROWSER=1` (set by `.ci/run` once it has them), where it fails instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use hq_api::auth::Role;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::spawn_app_with;

/// Writes to the terminal even under the test harness's output capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The browser and the driver, or why they cannot be had.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium =
        PathBuf::from(std::env::var("HQ_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        return Err(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        return Err("node is missing".into());
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Err(format!(
            "playwright-core is missing (npm ci in {})",
            dir.display()
        ));
    }
    Ok((chromium, dir))
}

/// A page server on its own port (another origin than the API's): every request gets a page
/// whose script calls the API named in its URL's fragment, with the token there, and leaves what
/// `fetch` got in `window.__result`.
async fn page_server() -> String {
    const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>another origin</title>
<script>
const { api, token } = JSON.parse(decodeURIComponent(location.hash.slice(1)));
fetch(api + "/graphql", {
  method: "POST",
  headers: {
    "Content-Type": "application/json",
    "Authorization": "Bearer " + token,
    "X-Request-Id": "cross-origin-test",
  },
  body: JSON.stringify({ query: "{ districts { code } }" }),
})
  .then((r) => r.json().then((body) => ({ status: r.status, codes: body.data.districts.map((d) => d.code) })))
  .then((value) => { window.__result = value; }, (error) => { window.__result = { error: String(error) }; });
</script>"#;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 2048];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn graphiql_runs_offline_in_chromium_and_only_a_listed_origin_calls_the_api() {
    let (chromium, driver) = match browser() {
        Ok(found) => found,
        Err(why) if std::env::var("HQ_REQUIRE_BROWSER").as_deref() != Ok("1") => {
            say(&format!("browser test skipped: {why}"));
            return;
        }
        Err(why) => panic!("HQ_REQUIRE_BROWSER=1 but {why}"),
    };
    let allowed_page = page_server().await;
    let denied_page = page_server().await;
    let listed = allowed_page.clone();
    let app = spawn_app_with(move |s| s.cors_origins = listed.parse().unwrap()).await;
    let token = app.token_for(Role::Viewer);
    let out = tempfile::Builder::new()
        .prefix("hq-graphiql-")
        .tempdir()
        .unwrap()
        .keep();
    let profile = tempfile::tempdir().unwrap();

    let mut command = std::process::Command::new("node");
    command
        .arg(driver.join("chromium.mjs"))
        .current_dir(&driver)
        .env("HQ_URL", &app.address)
        .env("HQ_TOKEN", &token)
        .env("HQ_OUT_DIR", &out)
        .env("HQ_PROFILE_DIR", profile.path())
        .env("HQ_ALLOWED_PAGE", &allowed_page)
        .env("HQ_DENIED_PAGE", &denied_page)
        .env("HQ_CHROMIUM", &chromium);
    // The server runs on this test's runtime: wait for the browser off it.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser run failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    // GraphiQL loaded, and nothing it loaded came from another host.
    assert_eq!(report["pageStatus"], 200);
    assert!(
        report["csp"]
            .as_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let requests: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(requests.len() >= 6, "the page and its files: {requests:?}");
    let foreign: Vec<&&str> = requests
        .iter()
        .filter(|url| !url.starts_with(&format!("{}/", app.address)) && !url.starts_with("data:"))
        .collect();
    assert!(foreign.is_empty(), "requests to another host: {foreign:?}");
    assert!(
        report["pageErrors"].as_array().unwrap().is_empty(),
        "{}",
        report["pageErrors"]
    );
    assert!(
        report["consoleErrors"].as_array().unwrap().is_empty(),
        "errors (a CSP refusal shows here): {}",
        report["consoleErrors"]
    );

    // The header editor offered `Authorization: Bearer ` to complete.
    let preset: Value = serde_json::from_str(report["presetHeaders"].as_str().unwrap()).unwrap();
    assert_eq!(preset, serde_json::json!({ "Authorization": "Bearer " }));

    // The token went in through the header editor, and the result pane holds the 13 districts.
    assert!(report["headers"].as_str().unwrap().contains(&token));
    let result: Value = serde_json::from_str(report["result"].as_str().unwrap()).unwrap();
    let codes = result["data"]["districts"].as_array().unwrap();
    assert_eq!(codes.len(), 13, "{result}");
    assert!(codes.iter().any(|d| d["code"] == "330106"));
    assert!(
        report["resultVisibleText"]
            .as_str()
            .unwrap()
            .contains("\"code\""),
        "the result shows on screen"
    );
    let screenshot = PathBuf::from(report["screenshot"].as_str().unwrap());
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    say(&format!("GraphiQL screenshot: {}", screenshot.display()));

    // A page on the listed origin reads the answer; one on another origin is refused by the
    // browser (fetch fails: no Access-Control-Allow-Origin on the preflight).
    assert_eq!(report["allowed"]["status"], 200, "{}", report["allowed"]);
    assert_eq!(report["allowed"]["codes"].as_array().unwrap().len(), 13);
    assert!(
        report["denied"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "{}",
        report["denied"]
    );
}
