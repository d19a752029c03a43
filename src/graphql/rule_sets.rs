//! Rule sets by document: the list with what each changed (`ruleSets`), and registering an
//! amendment (`registerAmendment`, HQ_OFFICE).

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};

use super::parameters::{PolicyParameter, parse_value};
use super::recognition::GqlRuleId;
use super::scalars::{Date, DateTime};
use crate::services::rule_sets::{
    self as service, AmendmentParameter, NewAmendment, RuleSetChanges, StoredRuleSet,
};

/// The rule set a verdict was decided under: the one in force on its decision date.
#[derive(SimpleObject, Debug, Clone)]
pub struct RuleSetCitation {
    /// Its code, e.g. `HZ-2023-3`.
    pub code: String,
    /// Its document number, e.g. `杭政办〔2023〕3号`.
    pub document: String,
    /// The document's title.
    pub title: String,
}

impl From<&StoredRuleSet> for RuleSetCitation {
    fn from(stored: &StoredRuleSet) -> Self {
        RuleSetCitation {
            code: stored.rule_set.code.clone(),
            document: stored.rule_set.document.clone(),
            title: stored.title.clone(),
        }
    }
}

/// One parameter a rule set changed: the version in force the day before it took effect, and its
/// own version from its first day.
#[derive(SimpleObject, Debug, Clone)]
pub struct RuleSetParameterChange {
    /// The parameter name, e.g. `recognition.excluded_industries`.
    pub name: String,
    /// The district whose own version it is; null for the general one.
    pub district: Option<String>,
    /// The version in force the day before (the old value); null when there was none.
    pub before: Option<PolicyParameter>,
    /// The rule set's own version (the new value).
    pub after: PolicyParameter,
}

/// A policy document whose rules decide recognition from its effective date (the rule set in
/// force on a day is, of those whose period contains it, the one with the latest start).
#[derive(SimpleObject, Debug, Clone)]
pub struct RuleSet {
    /// Stable code, e.g. `HZ-2023-3`.
    pub code: String,
    /// Document number, e.g. `杭政办〔2023〕3号`.
    pub document: String,
    /// Document title.
    pub title: String,
    /// First day in force (inclusive).
    pub effective_from: Date,
    /// Last day in force (inclusive); null while open-ended.
    pub effective_to: Option<Date>,
    /// The first day a later rule set amending this one decides instead; null while none does.
    pub superseded_from: Option<Date>,
    /// The code of the rule set this one amends; null for the first.
    pub supersedes: Option<String>,
    /// The recognition rules it applies, in table order.
    pub rules: Vec<GqlRuleId>,
    /// Rules it applies that the rule set it amends did not, in table order.
    pub rules_added: Vec<GqlRuleId>,
    /// Rules the rule set it amends applied that it does not, in table order.
    pub rules_dropped: Vec<GqlRuleId>,
    /// The parameters it changed from its first day, old value beside new.
    pub parameter_changes: Vec<RuleSetParameterChange>,
    /// When it was registered (UTC); null for the rule set shipped with the service.
    pub registered_at: Option<DateTime>,
}

impl From<RuleSetChanges> for RuleSet {
    fn from(changes: RuleSetChanges) -> Self {
        let stored = changes.stored;
        let set = stored.rule_set;
        RuleSet {
            code: set.code,
            document: set.document,
            title: stored.title,
            effective_from: Date(set.effective_from),
            effective_to: set.effective_to.map(Date),
            superseded_from: changes.superseded_from.map(Date),
            supersedes: stored.supersedes,
            rules: set.rules.into_iter().map(Into::into).collect(),
            rules_added: changes.rules.added.into_iter().map(Into::into).collect(),
            rules_dropped: changes.rules.dropped.into_iter().map(Into::into).collect(),
            parameter_changes: changes
                .parameters
                .into_iter()
                .map(|change| RuleSetParameterChange {
                    name: change.after.version.name.clone(),
                    district: change.after.version.district.clone(),
                    before: change.before.map(Into::into),
                    after: change.after.into(),
                })
                .collect(),
            registered_at: stored.registered_at.map(Into::into),
        }
    }
}

/// A parameter value an amendment sets from its effective date.
#[derive(InputObject, Debug)]
pub struct AmendmentParameterInput {
    /// A parameter name of the parameter table (docs/rules.md), e.g.
    /// `recognition.excluded_industries`.
    pub name: String,
    /// A district's own version (only the §7 `rent_subsidy.*` and `purchase_subsidy.*`); omit for
    /// the general one.
    pub district: Option<String>,
    /// The value as JSON, of the parameter's kind, exactly as `addParameterVersion` takes it: an
    /// amount or a ratio as a decimal string, a date as `"YYYY-MM-DD"`, a count as an integer, a
    /// list as an array of strings.
    pub value: Json<serde_json::Value>,
    /// The legal reference (e.g. the amendment's clause); omit for the amendment's document
    /// number.
    pub reference: Option<String>,
}

/// A later policy document amending the rule set in force: its own rule set from
/// `effectiveFrom`. New rule code comes with a release; an amendment chooses among the rules
/// this release knows and sets parameter values.
#[derive(InputObject, Debug)]
pub struct RegisterAmendmentInput {
    /// The new rule set's code: upper-case letters, digits and `-`, e.g. `HZ-2024-1`.
    pub code: String,
    /// The document number, e.g. `杭政办〔2024〕1号`.
    pub document: String,
    /// The document's title.
    pub title: String,
    /// The day it takes effect: after the start of every rule set registered before, on a day a
    /// rule set is in force (the one it amends).
    pub effective_from: Date,
    /// Its last day (inclusive); omit for the last day of the rule set it amends.
    pub effective_to: Option<Date>,
    /// The parameter values it sets, each a version valid from `effectiveFrom` (to
    /// `effectiveTo` when given, else open-ended like the shipped defaults).
    #[graphql(default)]
    pub parameters: Vec<AmendmentParameterInput>,
    /// Rules in force that it no longer applies, e.g. `NOT_EXCLUDED_SOE`.
    #[graphql(default)]
    pub dropped_rules: Vec<GqlRuleId>,
    /// Rules of this release not in force that it applies again.
    #[graphql(default)]
    pub added_rules: Vec<GqlRuleId>,
}

/// Rule set queries.
#[derive(Default)]
pub struct RuleSetQuery;

#[Object]
impl RuleSetQuery {
    /// Every rule set, by effective date: its document, period, the rules it applies, and what it
    /// changed relative to the rule set it amends (rules added and dropped, parameters with the
    /// old value beside the new).
    async fn rule_sets(&self, ctx: &Context<'_>) -> Result<Vec<RuleSet>> {
        let state = super::state(ctx)?;
        let listed = service::list(&state.db).await?;
        Ok(listed.into_iter().map(RuleSet::from).collect())
    }
}

/// Rule set mutations (HQ_OFFICE).
#[derive(Default)]
pub struct RuleSetMutation;

#[Object]
impl RuleSetMutation {
    /// Registers a later document amending the rule set in force on its date (HQ_OFFICE): a
    /// new rule set from `effectiveFrom` with its rules and parameter values, in one audited
    /// transaction.
    /// Nothing stored is edited: recognitions already decided keep their verdict and rule set,
    /// and a decision or dry run on a day before `effectiveFrom` answers as before.
    /// `BAD_USER_INPUT` naming the field at fault; `CONFLICT` when the code or document is
    /// already registered, or a parameter already has a version from `effectiveFrom`.
    async fn register_amendment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document, its dates, and what it changes.")]
        input: RegisterAmendmentInput,
    ) -> Result<RuleSet> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let parameters = input
            .parameters
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(AmendmentParameter {
                    name: p.name,
                    district: p.district,
                    value: parse_value(&format!("input.parameters[{i}].value"), p.value.0)?,
                    reference: p.reference,
                })
            })
            .collect::<Result<Vec<_>, crate::error::AppError>>()?;
        let registered = service::register_amendment(
            &state.db,
            actor,
            NewAmendment {
                code: input.code,
                document: input.document,
                title: input.title,
                effective_from: input.effective_from.into(),
                effective_to: input.effective_to.map(Into::into),
                parameters,
                dropped_rules: input.dropped_rules.into_iter().map(Into::into).collect(),
                added_rules: input.added_rules.into_iter().map(Into::into).collect(),
            },
        )
        .await?;
        Ok(registered.into())
    }
}
