//! The depth limit of an operation, with introspection measured on a budget of its own.
//!
//! async-graphql's `limit_depth` counts every field, so the standard introspection query of
//! graphql-js 16 and 17 (`getIntrospectionQuery()`, which GraphiQL and graphql-codegen send) is
//! 15 deep: `__schema { types { fields { args { type` and then the `ofType` chain of its
//! `TypeRef` fragment, 9 levels at graphql-js's default `typeDepth`. At the default limit of 12
//! every tool that introspects would be refused; raising the limit for everything would let data
//! queries nest deeper too.
//!
//! So each root field is measured on its own, once its fragments are spread:
//! - a data field (any root field but `__schema` and `__type`) is at most `data` deep, the
//!   configured `HQ_MAX_DEPTH`;
//! - an introspection field (`__schema`, `__type`) is at most [`INTROSPECTION_DEPTH`] deep (or
//!   `HQ_MAX_DEPTH` if that is larger), and crosses at most [`INTROSPECTION_LISTS`] list fields
//!   (`types`, `fields`, `args`, …) on any path. Depth alone does not bound introspection: a
//!   `fields { type { fields { type { …` cycle multiplies its answer by the width of a type at
//!   every second level. The standard queries cross three (`types { fields { args`), so three
//!   bounds the answer to the size of the schema times its widest type, whatever the depth.
//!
//! Introspection still counts towards the complexity limit (one per field), the field and root
//! field limits of [`super::guard`], and `HQ_INTROSPECTION` decides who may run it at all.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerResult, Variables};

use crate::error::AppError;

/// The depth budget of an introspection root field: graphql-js's standard introspection query at
/// its default `typeDepth` of 9.
pub const INTROSPECTION_DEPTH: usize = 15;

/// The most list fields of the introspection types an introspection path may cross.
pub const INTROSPECTION_LISTS: usize = 3;

/// The fields of the introspection types (`__Schema`, `__Type`, `__Field`, `__Directive`) that
/// return lists of objects.
const INTROSPECTION_LIST_FIELDS: [&str; 8] = [
    "types",
    "directives",
    "fields",
    "args",
    "inputFields",
    "enumValues",
    "interfaces",
    "possibleTypes",
];

/// The root fields that start an introspection.
const INTROSPECTION_ROOTS: [&str; 2] = ["__schema", "__type"];

/// The depth budgets of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthLimits {
    /// Deepest data field (`HQ_MAX_DEPTH`).
    pub data: usize,
    /// Deepest introspection field.
    pub introspection: usize,
}

impl DepthLimits {
    /// The budgets for a configured data depth: introspection gets [`INTROSPECTION_DEPTH`], or
    /// the data depth if an operator set that higher.
    pub fn for_data_depth(data: usize) -> Self {
        DepthLimits {
            data,
            introspection: data.max(INTROSPECTION_DEPTH),
        }
    }

    /// The deeper of the two budgets: the executor's own limit, as a second net.
    pub fn deepest(self) -> usize {
        self.data.max(self.introspection)
    }
}

/// The measure of a selection set once its fragments are spread.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    /// Deepest chain of fields below this level.
    depth: usize,
    /// Most introspection list fields on one path below this level.
    lists: usize,
}

/// Why a document is refused.
enum Refusal {
    /// Recursion went past every budget (so no root field can be within its own).
    TooDeep,
}

struct Measurer<'a> {
    document: &'a ExecutableDocument,
    /// Deepest recursion (fields, spreads and inline fragments) worth following.
    bound: usize,
    /// Each fragment measured once; `None` while it is being measured (a cycle, which the
    /// validator refuses with its own message).
    fragments: HashMap<&'a str, Option<Measure>>,
}

impl<'a> Measurer<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, stack: usize) -> Result<Measure, Refusal> {
        if stack > self.bound {
            return Err(Refusal::TooDeep);
        }
        let mut measure = Measure::default();
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    let inner = self.selection_set(&field.node.selection_set.node, stack + 1)?;
                    let list = INTROSPECTION_LIST_FIELDS.contains(&field.node.name.node.as_str());
                    Measure {
                        depth: inner.depth + 1,
                        lists: inner.lists + usize::from(list),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, stack + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), stack + 1)?
                }
            };
            measure.depth = measure.depth.max(inner.depth);
            measure.lists = measure.lists.max(inner.lists);
        }
        Ok(measure)
    }

    fn fragment(&mut self, name: &'a str, stack: usize) -> Result<Measure, Refusal> {
        match self.fragments.get(name) {
            Some(Some(measure)) => return Ok(*measure),
            Some(None) => return Ok(Measure::default()),
            None => {}
        }
        let Some(definition) = self.document.fragments.get(name) else {
            return Ok(Measure::default());
        };
        self.fragments.insert(name, None);
        let measure = self.selection_set(&definition.node.selection_set.node, stack)?;
        self.fragments.insert(name, Some(measure));
        Ok(measure)
    }

    /// Checks every field at the root of `set` (through fragments and inline fragments there)
    /// against its budget.
    fn root(
        &mut self,
        set: &'a SelectionSet,
        limits: DepthLimits,
        stack: usize,
        seen: &mut Vec<&'a str>,
    ) -> Result<(), AppError> {
        if stack > self.bound {
            return Err(too_deep(limits.deepest()));
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let inner = self
                        .selection_set(&field.node.selection_set.node, stack + 1)
                        .map_err(|Refusal::TooDeep| too_deep(limits.deepest()))?;
                    let depth = inner.depth + 1;
                    if INTROSPECTION_ROOTS.contains(&name) {
                        if depth > limits.introspection {
                            return Err(AppError::bad_input(
                                "query",
                                format!(
                                    "`{name}` is nested {depth} levels deep; introspection may \
                                     nest at most {} levels",
                                    limits.introspection
                                ),
                            ));
                        }
                        if inner.lists > INTROSPECTION_LISTS {
                            return Err(AppError::bad_input(
                                "query",
                                format!(
                                    "`{name}` nests {} lists of the schema (types, fields, args, \
                                     …); at most {INTROSPECTION_LISTS} are accepted",
                                    inner.lists
                                ),
                            ));
                        }
                    } else if depth > limits.data {
                        return Err(too_deep(limits.data));
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.root(&fragment.node.selection_set.node, limits, stack + 1, seen)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    // A cycle or an unknown fragment is the validator's to report.
                    if seen.contains(&name) {
                        continue;
                    }
                    let Some(definition) = self.document.fragments.get(name) else {
                        continue;
                    };
                    seen.push(name);
                    self.root(&definition.node.selection_set.node, limits, stack + 1, seen)?;
                    seen.pop();
                }
            }
        }
        Ok(())
    }
}

fn too_deep(limit: usize) -> AppError {
    AppError::bad_input(
        "query",
        format!("the query is nested deeper than {limit} levels of fields"),
    )
}

/// Refuses a document one of whose root fields, fragments spread, is deeper than its budget.
///
/// # Errors
/// `BAD_USER_INPUT` on `query`, saying which budget was passed.
pub fn check(document: &ExecutableDocument, limits: DepthLimits) -> Result<(), AppError> {
    let mut measurer = Measurer {
        document,
        // Fragments and inline fragments add recursion but no depth: allow a margin for them;
        // the HTTP guard has already bounded the nesting of the text.
        bound: limits.deepest().saturating_mul(4),
        fragments: HashMap::with_capacity(document.fragments.len()),
    };
    for (_, operation) in document.operations.iter() {
        measurer.root(
            &operation.node.selection_set.node,
            limits,
            1,
            &mut Vec::new(),
        )?;
    }
    Ok(())
}

/// Installs [`check`] on the schema: it runs on every parsed document, before validation.
pub struct DepthLimit(pub DepthLimits);

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DepthLimitExtension(self.0))
    }
}

struct DepthLimitExtension(DepthLimits);

#[async_graphql::async_trait::async_trait]
impl Extension for DepthLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document, self.0).map_err(|err| err.to_server_error())?;
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DepthLimits = DepthLimits {
        data: 12,
        introspection: INTROSPECTION_DEPTH,
    };

    fn checked(text: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(text).expect("valid document");
        check(&document, LIMITS).map_err(|err| err.to_string())
    }

    /// `root { link { link { … { leaf } } } }`, `levels` fields in all.
    fn fields(root: &str, link: &str, leaf: &str, levels: usize) -> String {
        let mut text = format!("{root} {{ ");
        for _ in 0..levels.saturating_sub(2) {
            text.push_str(link);
            text.push_str(" { ");
        }
        text.push_str(leaf);
        text.push_str(&" }".repeat(levels - 1));
        text
    }

    /// [`fields`] as an operation.
    fn chain(root: &str, link: &str, leaf: &str, levels: usize) -> String {
        format!("{{ {} }}", fields(root, link, leaf, levels))
    }

    #[test]
    fn data_fields_are_held_to_the_configured_depth() {
        assert!(checked(&chain("me", "a", "b", 12)).is_ok());
        let err = checked(&chain("me", "a", "b", 13)).unwrap_err();
        assert!(err.contains("deeper than 12"), "{err}");
    }

    #[test]
    fn an_of_type_chain_is_held_to_the_introspection_depth() {
        let ok = chain(r#"__type(name: "Query")"#, "ofType", "name", 15);
        assert!(checked(&ok).is_ok());
        let deep = chain(r#"__type(name: "Query")"#, "ofType", "name", 16);
        let err = checked(&deep).unwrap_err();
        assert!(err.contains("at most 15 levels"), "{err}");
    }

    #[test]
    fn a_data_field_beside_an_introspection_field_keeps_the_data_budget() {
        let text = format!(
            "{{ __schema {{ queryType {{ name }} }} {} }}",
            fields("me", "a", "b", 13)
        );
        let err = checked(&text).unwrap_err();
        assert!(err.contains("deeper than 12"), "{err}");
    }

    #[test]
    fn a_fragment_at_the_root_does_not_lend_the_introspection_budget_to_data() {
        let text = format!(
            "{{ ...R }} fragment R on Query {{ __schema {{ description }} ... on Query {{ {} }} }}",
            fields("me", "a", "b", 13)
        );
        assert!(checked(&text).unwrap_err().contains("deeper than 12"));
    }

    #[test]
    fn depth_is_counted_through_fragments() {
        let text = "{ __type(name: \"Query\") { ...T } } \
                    fragment T on __Type { ofType { ...U } } \
                    fragment U on __Type { ofType { ofType { ofType { ofType { ofType { \
                    ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { \
                    name } } } } } } } } } } } } } }";
        assert!(checked(text).unwrap_err().contains("at most 15 levels"));
    }

    #[test]
    fn a_fourth_nested_list_of_the_schema_is_refused_at_any_depth() {
        assert!(checked("{ __schema { types { fields { args { name } } } } }").is_ok());
        assert!(checked("{ __schema { types { fields { type { fields { name } } } } } }").is_ok());
        for text in [
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
            "{ __type(name: \"Query\") { fields { type { fields { type { fields { type { \
             fields { name } } } } } } } } }",
            "{ __schema { types { ...F } } } fragment F on __Type { possibleTypes { \
             interfaces { enumValues { name } } } }",
        ] {
            let err = checked(text).unwrap_err();
            assert!(err.contains("at most 3 are accepted"), "{text}: {err}");
        }
    }

    #[test]
    fn a_data_field_named_like_a_schema_list_is_not_counted() {
        assert!(checked("{ me { types { fields { args { inputFields { x } } } } } }").is_ok());
    }

    #[test]
    fn a_fragment_cycle_is_left_to_the_validator() {
        assert!(
            checked("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }").is_ok()
        );
        assert!(
            checked("{ me { ...A } } fragment A on Me { ...B } fragment B on Me { ...A }").is_ok()
        );
    }

    #[test]
    fn an_operator_depth_above_the_introspection_budget_raises_both() {
        let limits = DepthLimits::for_data_depth(20);
        assert_eq!(limits.introspection, 20);
        assert_eq!(
            DepthLimits::for_data_depth(5).introspection,
            INTROSPECTION_DEPTH
        );
    }
}
