//! Bounds on a request's *shape*, checked before the recursive parser, the validator or the
//! executor sees it, so that no document under the body limit can exhaust the stack, a core or
//! the memory of the process.
//!
//! Three checks, each linear in the size of its input:
//! 1. [`check_json_nesting`]: the JSON body (and so every variable) nests at most
//!    `nesting + 2` levels (the request object and the `variables` object around a value).
//! 2. [`check_nesting`]: the GraphQL text nests `{`, `[` and `(` at most `nesting` levels
//!    (object and list values, variable defaults, list types, selection sets, inline
//!    fragments). The scan skips strings, block strings and comments, so a brace inside a string
//!    does not count.
//! 3. [`check_document`], on the parsed document: the document *as executed*, with every
//!    fragment spread replaced by its fragment, has at most `fields` fields and directives (each
//!    alias counts), at most `root_fields` fields at the root of any operation, and nests at most
//!    `nesting` levels counting fields, fragment spreads and inline fragments. Each fragment is
//!    measured once (memoised), so `F1 { ...F0 ...F0 } … F24 { ...F23 ...F23 }` is measured in
//!    25 steps and refused, where expanding it would take 2^24.
//! 4. Also in [`check_document`]: every directive is one the schema serves on executable
//!    locations ([`EXECUTABLE_DIRECTIVES`]), used at most once per place, with exactly its `if`
//!    argument as a Boolean literal or a variable. async-graphql's validator skips the directives
//!    of `__typename`, so `{ __typename @foo }` would otherwise run.

/// The directives the schema accepts in an executable document, each with its one argument.
pub const EXECUTABLE_DIRECTIVES: &[&str] = &["skip", "include"];

use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};

use crate::error::AppError;

/// The bounds on a request's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Deepest nesting of brackets in the text, and of fields and fragments once spread.
    pub nesting: usize,
    /// Most fields and directives of the document once every fragment is spread.
    pub fields: usize,
    /// Most fields (aliases included) at the root of an operation.
    pub root_fields: usize,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        DocumentLimits {
            nesting: 64,
            fields: 10_000,
            root_fields: 30,
        }
    }
}

/// Refuses a JSON body nesting objects and arrays deeper than `limit` levels. Strings (with
/// their escapes) are skipped; the text need not be valid JSON (the parser judges that).
///
/// # Errors
/// `BAD_USER_INPUT` on `body`.
pub fn check_json_nesting(body: &[u8], limit: usize) -> Result<(), AppError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Err(AppError::bad_input(
                        "body",
                        format!("the JSON body nests deeper than {limit} levels"),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a GraphQL document whose `{`, `[` or `(` nest deeper than `limit`, without parsing
/// it. Strings, block strings (`"""…"""`, with `\"""` escaped) and comments are skipped.
///
/// # Errors
/// `BAD_USER_INPUT` on `query`.
pub fn check_nesting(text: &str, limit: usize) -> Result<(), AppError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                loop {
                    if i >= bytes.len() {
                        return Ok(()); // unterminated: the parser reports it
                    }
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 2;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limit {
                    return Err(AppError::bad_input(
                        "query",
                        format!("the document nests deeper than {limit} levels"),
                    ));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The measure of a selection set once its fragments are spread.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    /// Fields and directives, saturating.
    size: usize,
    /// Fields at this level (fragments and inline fragments at this level included).
    width: usize,
    /// Deepest nesting of fields, spreads and inline fragments below this level.
    depth: usize,
}

/// Why a document was refused by [`check_document`].
enum Refusal {
    TooDeep,
    Directive(String),
}

/// Checks the directives of one place of the document (a field, a spread, an inline fragment, a
/// fragment definition or an operation, which accepts none).
fn check_directives(directives: &[Positioned<Directive>], allowed: bool) -> Result<(), Refusal> {
    let mut seen: Vec<&str> = Vec::with_capacity(directives.len());
    for directive in directives {
        let name = directive.node.name.node.as_str();
        let refuse = |why: &str| Err(Refusal::Directive(format!("@{name}: {why}")));
        if !EXECUTABLE_DIRECTIVES.contains(&name) {
            return refuse("unknown directive");
        }
        if !allowed {
            return refuse("not accepted on an operation or a fragment definition");
        }
        if seen.contains(&name) {
            return refuse("used twice in one place");
        }
        seen.push(name);
        match directive.node.arguments.as_slice() {
            [(argument, value)] if argument.node.as_str() == "if" => {
                // A variable prints as `$name`; any other value holding one is not a Boolean.
                let boolean = matches!(
                    value.node.clone().into_const(),
                    Some(async_graphql::Value::Boolean(_))
                ) || value.node.to_string().starts_with('$');
                if !boolean {
                    return refuse("`if` takes a Boolean");
                }
            }
            _ => return refuse("takes exactly one argument, `if: Boolean!`"),
        }
    }
    Ok(())
}

struct Measurer<'a> {
    document: &'a ExecutableDocument,
    limits: DocumentLimits,
    fragments: HashMap<&'a str, Option<Measure>>,
}

impl<'a> Measurer<'a> {
    /// Measures a selection set reached through `stack` levels of recursion. Recursion stops at
    /// the nesting limit, so this function's own stack is bounded too.
    fn selection_set(&mut self, set: &'a SelectionSet, stack: usize) -> Result<Measure, Refusal> {
        if stack > self.limits.nesting {
            return Err(Refusal::TooDeep);
        }
        let mut measure = Measure::default();
        for item in &set.items {
            let (inner, directives, is_field) = match &item.node {
                Selection::Field(field) => {
                    check_directives(&field.node.directives, true)?;
                    let inner = self.selection_set(&field.node.selection_set.node, stack + 1)?;
                    (inner, field.node.directives.len(), true)
                }
                Selection::InlineFragment(fragment) => {
                    check_directives(&fragment.node.directives, true)?;
                    let inner = self.selection_set(&fragment.node.selection_set.node, stack + 1)?;
                    (inner, fragment.node.directives.len(), false)
                }
                Selection::FragmentSpread(spread) => {
                    check_directives(&spread.node.directives, true)?;
                    let inner =
                        self.fragment(spread.node.fragment_name.node.as_str(), stack + 1)?;
                    (inner, spread.node.directives.len(), false)
                }
            };
            let own = usize::from(is_field);
            measure.size = measure
                .size
                .saturating_add(own)
                .saturating_add(directives)
                .saturating_add(inner.size);
            measure.width = measure
                .width
                .saturating_add(if is_field { 1 } else { inner.width });
            measure.depth = measure.depth.max(inner.depth.saturating_add(1));
        }
        Ok(measure)
    }

    /// Measures a fragment once; a fragment in a cycle or unknown measures nothing here (the
    /// validator refuses cycles and unknown fragments with its own messages).
    fn fragment(&mut self, name: &'a str, stack: usize) -> Result<Measure, Refusal> {
        match self.fragments.get(name) {
            Some(Some(measure)) => return Ok(*measure),
            Some(None) => return Ok(Measure::default()), // a cycle: being measured
            None => {}
        }
        let Some((_, definition)) = self
            .document
            .fragments
            .iter()
            .find(|(fragment, _)| fragment.as_str() == name)
        else {
            return Ok(Measure::default());
        };
        self.fragments.insert(name, None);
        check_directives(&definition.node.directives, false)?;
        let mut measure = self.selection_set(&definition.node.selection_set.node, stack)?;
        measure.size = measure
            .size
            .saturating_add(definition.node.directives.len());
        self.fragments.insert(name, Some(measure));
        Ok(measure)
    }
}

/// Refuses a parsed document whose operations, once fragments are spread, exceed `limits`.
/// Every operation and every fragment definition counts, since the validator visits them all.
///
/// # Errors
/// `BAD_USER_INPUT` on `query`, saying which bound was passed.
pub fn check_document(
    document: &ExecutableDocument,
    limits: DocumentLimits,
) -> Result<(), AppError> {
    let mut measurer = Measurer {
        document,
        limits,
        fragments: HashMap::with_capacity(document.fragments.len()),
    };
    let too_deep = || {
        AppError::bad_input(
            "query",
            format!(
                "the document nests deeper than {} levels once its fragments are spread",
                limits.nesting
            ),
        )
    };
    let refused = |refusal: Refusal| match refusal {
        Refusal::TooDeep => too_deep(),
        Refusal::Directive(why) => AppError::bad_input("query", why),
    };
    let mut total = 0usize;
    let mut widest = 0usize;
    for (_, operation) in document.operations.iter() {
        check_directives(&operation.node.directives, false).map_err(refused)?;
        let measure = measurer
            .selection_set(&operation.node.selection_set.node, 1)
            .map_err(refused)?;
        if measure.depth > limits.nesting {
            return Err(too_deep());
        }
        widest = widest.max(measure.width);
        total = total
            .saturating_add(measure.size)
            .saturating_add(operation.node.directives.len());
    }
    for name in document.fragments.keys() {
        let measure = measurer.fragment(name.as_str(), 1).map_err(refused)?;
        total = total.saturating_add(measure.size);
    }
    if total > limits.fields {
        return Err(AppError::bad_input(
            "query",
            format!(
                "the document selects more than {} fields once its fragments are spread",
                limits.fields
            ),
        ));
    }
    if widest > limits.root_fields {
        return Err(AppError::bad_input(
            "query",
            format!(
                "an operation selects {widest} root fields; at most {} are accepted",
                limits.root_fields
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        nesting: 64,
        fields: 10_000,
        root_fields: 30,
    };

    fn parsed(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).expect("valid document")
    }

    fn nested(open: &str, inner: &str, close: &str, levels: usize) -> String {
        format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
    }

    fn fan_out(levels: usize) -> String {
        let mut text = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
        for i in 1..=levels {
            text.push_str(&format!(
                " fragment F{i} on Query {{ ...F{p} ...F{p} }}",
                p = i - 1
            ));
        }
        text
    }

    #[test]
    fn brackets_up_to_the_limit_pass_and_one_more_is_refused() {
        for (open, close) in [("{", "}"), ("[", "]"), ("(", ")")] {
            assert!(check_nesting(&nested(open, "1", close, 64), 64).is_ok());
            let err = check_nesting(&nested(open, "1", close, 65), 64).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_USER_INPUT");
        }
    }

    #[test]
    fn brackets_inside_strings_block_strings_and_comments_do_not_count() {
        let deep = "{".repeat(500);
        for text in [
            format!("{{ a(s: \"{deep}\") }}"),
            format!("{{ a(s: \"\\\"{deep}\") }}"),
            format!("{{ a(s: \"\"\"{deep} \\\"\"\" {deep}\"\"\") }}"),
            format!("# {deep}\n{{ a }}"),
        ] {
            assert!(check_nesting(&text, 64).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_string_does_not_hide_brackets_after_it() {
        let text = format!("{{ a(s: \"x\") {} }}", "{".repeat(100));
        assert!(check_nesting(&text, 64).is_err());
    }

    #[test]
    fn an_object_value_of_100_000_levels_is_refused_in_linear_time() {
        let text = format!(
            "{{ __typename @skip(if: {}) }}",
            nested("{a:", "1", "}", 100_000)
        );
        assert!(check_nesting(&text, 64).is_err());
    }

    #[test]
    fn json_nesting_skips_strings_and_escapes() {
        assert!(check_json_nesting(br#"{"query":"{{{{{{{{{{{{{{{{{{\"{{{"}"#, 2).is_ok());
        assert!(check_json_nesting(br#"{"v":[[[1]]]}"#, 4).is_ok());
        assert!(check_json_nesting(br#"{"v":[[[[1]]]]}"#, 4).is_err());
    }

    #[test]
    fn a_fragment_fan_out_is_measured_once_per_fragment_and_refused() {
        let started = std::time::Instant::now();
        let err = check_document(&parsed(&fan_out(24)), LIMITS).unwrap_err();
        assert!(err.to_string().contains("more than 10000 fields"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // 2^11 = 2,048 fields, and 4,095 in the fragments' own definitions, are within the bound
        // (all at the root here, so the root-field bound is lifted).
        let wide = DocumentLimits {
            root_fields: usize::MAX,
            ..LIMITS
        };
        assert!(check_document(&parsed(&fan_out(11)), wide).is_ok());
        assert!(check_document(&parsed(&fan_out(12)), wide).is_err());
    }

    #[test]
    fn aliases_and_directives_count() {
        let fields = (0..29)
            .map(|i| format!("a{i}: __typename @include(if: true) @skip(if: false)"))
            .collect::<Vec<_>>()
            .join(" ");
        let small = DocumentLimits {
            fields: 80,
            ..LIMITS
        };
        assert!(check_document(&parsed(&format!("{{ {fields} }}")), small).is_err());
        let big = DocumentLimits {
            fields: 87,
            ..LIMITS
        };
        assert!(check_document(&parsed(&format!("{{ {fields} }}")), big).is_ok());
    }

    #[test]
    fn root_fields_are_counted_through_fragments() {
        let thirty = (0..30)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(check_document(&parsed(&format!("{{ {thirty} }}")), LIMITS).is_ok());
        let spread = format!("{{ b: __typename ...R }} fragment R on Query {{ {thirty} }}");
        let err = check_document(&parsed(&spread), LIMITS).unwrap_err();
        assert!(err.to_string().contains("31 root fields"), "{err}");
    }

    #[test]
    fn a_long_chain_of_fragments_is_refused_as_too_deep() {
        let mut text = String::from("{ ...F1000 } fragment F0 on Query { __typename }");
        for i in 1..=1000 {
            text.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i - 1));
        }
        let err = check_document(&parsed(&text), LIMITS).unwrap_err();
        assert!(err.to_string().contains("nests deeper"), "{err}");
    }

    #[test]
    fn only_skip_and_include_once_each_with_a_boolean_if_are_accepted() {
        for good in [
            "{ __typename @skip(if: false) @include(if: true) }",
            "query($v: Boolean!) { __typename @skip(if: $v) ... @include(if: $v) { __typename } }",
            "{ ...F @skip(if: false) } fragment F on Query { __typename }",
        ] {
            assert!(check_document(&parsed(good), LIMITS).is_ok(), "{good}");
        }
        for bad in [
            "{ __typename @foo }",
            "{ __typename @skip(if: true) @skip(if: true) }",
            "{ __typename @skip(if: {a: 1}) }",
            "{ __typename @skip(if: \"yes\") }",
            "{ __typename @skip }",
            "{ __typename @skip(if: true, unless: false) }",
            "query @skip(if: true) { __typename }",
            "{ ...F } fragment F on Query @include(if: true) { __typename }",
            "{ ... @deprecated { __typename } }",
        ] {
            let err = check_document(&parsed(bad), LIMITS).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_USER_INPUT", "{bad}");
        }
    }

    #[test]
    fn the_schema_serves_no_executable_directive_the_guard_does_not_know() {
        let sdl = crate::graphql::sdl();
        for line in sdl.lines().filter(|l| l.starts_with("directive @")) {
            let name = &line["directive @".len()..line.find('(').unwrap_or(line.len())];
            let executable = [
                "FIELD",
                "FRAGMENT_SPREAD",
                "INLINE_FRAGMENT",
                "QUERY",
                "MUTATION",
            ]
            .iter()
            .any(|location| line.contains(location));
            assert_eq!(EXECUTABLE_DIRECTIVES.contains(&name), executable, "{line}");
        }
    }

    #[test]
    fn a_fragment_cycle_is_left_to_the_validator() {
        let text = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(check_document(&parsed(text), LIMITS).is_ok());
    }
}
