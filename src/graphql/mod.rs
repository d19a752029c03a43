//! The GraphQL API: one [`schema`] used by the server, the tests and the SDL export. Resolvers are
//! thin: they parse and authorise, call a service, and shape the answer.

mod access;
mod audit;
/// The benefits of an HQ for a year (§6, §7, §8, §10, §12) and the list of a year.
mod benefits;
/// The closed sets of §20 and of the district table as GraphQL enums.
mod codes;
/// The depth limit, with introspection on a bounded budget of its own.
pub mod depth;
mod districts;
pub mod enterprises;
/// The registry's facts in the API, expanded from the one list of facts.
mod facts;
pub mod guard;
/// `Subscription.claimEvents`: live claim status, and what a WebSocket connection hands it.
pub mod live;
mod me;
/// Relay object identification: `Node`, global ids, `node` and `nodes`.
pub mod node;
pub mod pagination;
mod parameters;
mod payments;
mod recognition;
/// Rule sets by document: `ruleSets` and `registerAmendment`.
mod rule_sets;
/// Our strict `Decimal`, `Date` and `DateTime` scalars (one text form each, checked at validation).
mod scalars;
mod settlement;
/// `simulateSettlement`: a year's settlement under several rates and budgets, stored nowhere.
mod simulation;
mod verdicts;

use async_graphql::connection::Connection;
use async_graphql::{Context, MergedObject, MergedSubscription, Schema};

pub use access::{AccessControl, code_errors};

use crate::auth::{Actor, Caller};
pub use crate::config::Introspection;
use crate::error::{AppError, AppResult};
use pagination::{ConnectionTotals, PageLimits};

/// Every query, merged from the per-domain objects.
#[derive(MergedObject, Default)]
pub struct Query(
    districts::DistrictQuery,
    me::MeQuery,
    node::NodeQuery,
    audit::AuditQuery,
    parameters::ParameterQuery,
    enterprises::EnterpriseQuery,
    recognition::RecognitionQuery,
    benefits::BenefitsQuery,
    rule_sets::RuleSetQuery,
    payments::PaymentQuery,
    settlement::SettlementQuery,
    simulation::SimulationQuery,
);

/// Every mutation, merged from the per-domain objects.
#[derive(MergedObject, Default)]
pub struct Mutation(
    parameters::ParameterMutation,
    enterprises::EnterpriseMutation,
    recognition::RecognitionMutation,
    rule_sets::RuleSetMutation,
    payments::PaymentMutation,
    settlement::SettlementMutation,
);

/// Every subscription, merged from the per-domain objects; served over WebSocket
/// (`graphql-transport-ws`) on `/graphql`.
#[derive(MergedSubscription, Default)]
pub struct Subscription(live::ClaimSubscription);

/// The schema type served.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// What resolvers need from the running service.
#[derive(Clone)]
pub struct ApiState {
    /// The database pool.
    pub db: crate::services::records::Db,
    /// Committed claim events, for subscriptions.
    pub feed: crate::services::claim_feed::ClaimFeed,
    /// Page sizes of connections.
    pub pages: PageLimits,
    /// District codes known to the database (for validating district arguments and district
    /// tokens); none until the database has answered.
    pub districts: crate::readiness::KnownDistricts,
    /// The parameter versions and rule sets, kept between recognition verdicts.
    pub policy: crate::services::recognition::inputs::PolicyCache,
}

/// Execution limits of the schema.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    /// Maximum depth of data fields (introspection: see [`depth`]).
    pub depth: usize,
    /// Maximum query complexity.
    pub complexity: usize,
    /// Who may introspect.
    pub introspection: Introspection,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        SchemaLimits {
            depth: 12,
            complexity: 5_000,
            introspection: Introspection::All,
        }
    }
}

/// Builds the schema. `state` is `None` only for exporting the SDL.
pub fn schema(state: Option<ApiState>, limits: SchemaLimits) -> AppSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
        .extension(AccessControl {
            introspection: limits.introspection,
        })
        .extension(depth::DepthLimit(depth::DepthLimits::for_data_depth(
            limits.depth,
        )))
        // A second net: no document passing the extension is deeper than this.
        .limit_depth(depth::DepthLimits::for_data_depth(limits.depth).deepest())
        .limit_complexity(limits.complexity)
        .disable_suggestions()
        // async-graphql gives its connection types and `ID` no description.
        .override_output_type_description::<Connection<String, audit::AuditEntry, ConnectionTotals>>(
            "A page of audit entries, newest first (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, enterprises::Enterprise, ConnectionTotals>>(
            "A page of enterprises (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, payments::PaymentLine, ConnectionTotals>>(
            "A page of payment lines in report order (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, enterprises::EnterpriseEvent, ConnectionTotals>>(
            "A page of an enterprise's events in (effective date, recording) order (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, verdicts::LineVerdict, ConnectionTotals>>(
            "A page of a claim's line verdicts in line order (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, payments::Claim, ConnectionTotals>>(
            "A page of claims by fiscal year and district (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, settlement::Finding, ConnectionTotals>>(
            "A page of findings in the order recorded (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, recognition::StarReward, ConnectionTotals>>(
            "A page of a year's star rewards by credit code (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, recognition::PublishedHeadquarters, ConnectionTotals>>(
            "A page of the published HQ list, by stars and then name (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, benefits::Benefits, ConnectionTotals>>(
            "A page of a year's HQ benefits by credit code (a Relay connection), with the total count.",
        )
        .override_output_type_description::<Connection<String, recognition::RecognitionVerdict, ConnectionTotals>>(
            "A page of a yearly round's verdicts by credit code (a Relay connection), with the number of enterprises in the round.",
        )
        .override_input_type_description::<async_graphql::ID>(
            "GraphQL's built-in `ID` scalar: an opaque identifier, serialised as a string.",
        );
    if limits.introspection == Introspection::Off {
        builder = builder.disable_introspection();
    }
    if let Some(state) = state {
        // The loader caches nothing, so one instance serves every request.
        builder = builder
            .data(enterprises::loader(state.db.clone()))
            .data(state);
    }
    builder.finish()
}

/// The SDL of [`schema`], as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema(None, SchemaLimits::default()).sdl()
}

/// The service state of a request.
///
/// # Errors
/// Internal error if the schema was built without state (only the SDL export does that).
pub fn state<'a>(ctx: &Context<'a>) -> AppResult<&'a ApiState> {
    ctx.data::<ApiState>()
        .map_err(|_| AppError::internal("schema executed without service state"))
}

/// The caller of a request (anonymous if none was attached).
pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// The authenticated actor of a request.
///
/// # Errors
/// `UNAUTHENTICATED` for an anonymous caller.
pub fn actor<'a>(ctx: &Context<'a>) -> AppResult<&'a Actor> {
    caller(ctx)
        .actor()
        .ok_or_else(|| AppError::Unauthenticated("this field needs a bearer token".into()))
}

#[cfg(test)]
mod layering {
    /// Resolvers shape what services return: no file of this layer names an entity, the ORM or
    /// SQL. (Read from the source tree, so that a new file is covered without a list to keep.)
    #[test]
    fn no_resolver_reaches_the_entities_the_orm_or_sql() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/graphql");
        let mut checked = 0;
        for file in std::fs::read_dir(&dir).expect("src/graphql") {
            let path = file.expect("entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            let code: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            // Spelled in pieces, so that this file does not match itself.
            let banned_words = [
                ["entity", "::"],
                ["use ", "entity"],
                ["sea", "_orm"],
                ["sq", "lx"],
                ["SELECT", " "],
                ["State", "ment"],
            ];
            for banned in banned_words.map(|pieces| pieces.concat()) {
                assert!(
                    !code.contains(banned.as_str()),
                    "{} uses `{banned}`: move it into a service",
                    path.display()
                );
            }
            checked += 1;
        }
        assert!(checked >= 10, "the layer's files were found");
    }
}
