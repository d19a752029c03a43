//! Rule sets by document: the one a verdict was decided under.

use async_graphql::SimpleObject;

use crate::services::rule_sets::StoredRuleSet;

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
