//! `schema.graphql` must be exactly what the server serves. Regenerate with
//! `cargo run -- export-schema --out schema.graphql` (or `UPDATE_SCHEMA=1 cargo test`).

#[test]
fn schema_graphql_matches_the_served_schema() {
    let served = hq_api::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(path, &served).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql is out of date: run `cargo run -- export-schema --out schema.graphql`"
    );
}

#[test]
fn every_field_of_the_schema_is_documented() {
    let sdl = hq_api::graphql::sdl();
    let mut undocumented = Vec::new();
    let mut previous = "";
    let mut current_type = String::new();
    let mut in_description = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed == "\"\"\"" {
            in_description = !in_description;
            previous = trimmed;
            continue;
        }
        if in_description {
            continue;
        }
        if !line.starts_with('\t') && !trimmed.is_empty() {
            current_type = trimmed
                .strip_prefix("type ")
                .or_else(|| trimmed.strip_prefix("input "))
                .or_else(|| trimmed.strip_prefix("enum "))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or("")
                .to_string();
        }
        // A field (or enum value) starts a line indented once with a name.
        let is_field = line.starts_with('\t')
            && line[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        // Relay's connection types and edges carry async-graphql's own descriptions.
        let relay = current_type.ends_with("Connection")
            || current_type.ends_with("Edge")
            || current_type == "PageInfo";
        let documented = previous.ends_with("\"\"\"") || previous.starts_with('"');
        if is_field && !current_type.is_empty() && !relay && !documented {
            undocumented.push(format!("{current_type}.{trimmed}"));
        }
        if !trimmed.is_empty() {
            previous = trimmed;
        }
    }
    assert!(
        undocumented.is_empty(),
        "undocumented fields: {undocumented:#?}"
    );
}
