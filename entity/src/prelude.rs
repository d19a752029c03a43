//! `use entity::prelude::*;` brings every entity into scope under its table's name.

pub use super::adjustments::Entity as Adjustments;
pub use super::audit_chain_head::Entity as AuditChainHead;
pub use super::audit_log::Entity as AuditLog;
pub use super::claim_events::Entity as ClaimEvents;
pub use super::claims::Entity as Claims;
pub use super::districts::Entity as Districts;
pub use super::enterprise_events::Entity as EnterpriseEvents;
pub use super::enterprise_facts::Entity as EnterpriseFacts;
pub use super::enterprise_figures::Entity as EnterpriseFigures;
pub use super::enterprises::Entity as Enterprises;
pub use super::finding_lines::Entity as FindingLines;
pub use super::findings::Entity as Findings;
pub use super::idempotency_keys::Entity as IdempotencyKeys;
pub use super::line_verdicts::Entity as LineVerdicts;
pub use super::payment_lines::Entity as PaymentLines;
pub use super::policy_parameters::Entity as PolicyParameters;
pub use super::recognitions::Entity as Recognitions;
pub use super::revocations::Entity as Revocations;
pub use super::rule_set_rules::Entity as RuleSetRules;
pub use super::rule_sets::Entity as RuleSets;
pub use super::settlement_lines::Entity as SettlementLines;
pub use super::settlements::Entity as Settlements;
pub use super::star_ratings::Entity as StarRatings;
pub use super::star_rewards::Entity as StarRewards;
