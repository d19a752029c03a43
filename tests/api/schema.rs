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

/// graphql-schema-linter's description rules, on the schema as served: every type, field,
/// argument, input field and enum value (and every directive and its arguments) carries a
/// description. The failure names each one that does not.
#[tokio::test]
async fn every_type_field_argument_and_enum_value_of_the_served_schema_is_described() {
    let app = crate::helpers::spawn_app().await;
    let query = "{ __schema { \
        types { kind name description \
          fields(includeDeprecated: true) { name description args(includeDeprecated: true) { name description } } \
          inputFields(includeDeprecated: true) { name description } \
          enumValues(includeDeprecated: true) { name description } } \
        directives { name description args(includeDeprecated: true) { name description } } } }";
    let res = app.gql(None, query, serde_json::json!({})).await;
    let schema = &res.data()["__schema"];
    let described = |value: &serde_json::Value| {
        value["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    let list = |value: &serde_json::Value, key: &str| -> Vec<serde_json::Value> {
        value[key].as_array().cloned().unwrap_or_default()
    };
    let mut undescribed = Vec::new();
    let mut checked = 0usize;
    let mut check = |what: String, value: &serde_json::Value| {
        checked += 1;
        if !described(value) {
            undescribed.push(what);
        }
    };
    for ty in list(schema, "types") {
        let name = ty["name"].as_str().expect("name").to_string();
        if name.starts_with("__") {
            continue;
        }
        check(format!("type {name}"), &ty);
        for field in list(&ty, "fields") {
            let field_name = field["name"].as_str().expect("name");
            check(format!("field {name}.{field_name}"), &field);
            for arg in list(&field, "args") {
                let arg_name = arg["name"].as_str().expect("name");
                check(format!("argument {name}.{field_name}({arg_name})"), &arg);
            }
        }
        for input in list(&ty, "inputFields") {
            let input_name = input["name"].as_str().expect("name");
            check(format!("input field {name}.{input_name}"), &input);
        }
        for value in list(&ty, "enumValues") {
            let value_name = value["name"].as_str().expect("name");
            check(format!("enum value {name}.{value_name}"), &value);
        }
    }
    for directive in list(schema, "directives") {
        let name = directive["name"].as_str().expect("name");
        check(format!("directive @{name}"), &directive);
        for arg in list(&directive, "args") {
            let arg_name = arg["name"].as_str().expect("name");
            check(format!("argument @{name}({arg_name})"), &arg);
        }
    }
    assert!(
        checked > 500,
        "the walk reached the whole schema ({checked})"
    );
    assert!(
        undescribed.is_empty(),
        "{} undescribed:\n{}",
        undescribed.len(),
        undescribed.join("\n")
    );
}
