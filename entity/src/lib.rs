//! sea-orm entities of hq-api: one module per table, plain data, no business logic.
//!
//! Money columns end in `_fen` and hold integer fen (`i64`); JSON documents and decimal values
//! (ratios, rates) are `String`s; enum-like columns are `String`s whose values the service owns.

pub mod prelude;

/// `adjustments`: amounts carried into a later settlement (§20 step 6).
pub mod adjustments;
/// `audit_chain_head`: the one-row head of the audit log's hash chain.
pub mod audit_chain_head;
/// `audit_log`: append-only audit trail of every write.
pub mod audit_log;
/// `claim_events`: append-only history of a claim (submitted, returned, reconciled, approved).
pub mod claim_events;
/// `claims`: a district's yearly claim (§20 step 2) and its workflow status.
pub mod claims;
/// `districts`: Hangzhou's county-level divisions by GB/T 2260 code (seed data).
pub mod districts;
/// `enterprise_events`: append-only §19 events, the source of truth for dated facts.
pub mod enterprise_events;
/// `enterprise_facts`: facts per constant period, derived from the events (rebuildable).
pub mod enterprise_facts;
/// `enterprise_figures`: yearly Hangzhou revenue and R&D spending.
pub mod enterprise_figures;
/// `enterprises`: enterprise identities (credit code); all other facts are dated events.
pub mod enterprises;
/// `finding_lines`: the payment lines a finding names.
pub mod finding_lines;
/// `findings`: findings after approval (§20 step 6): a revocation or an audit finding.
pub mod findings;
/// `idempotency_keys`: client-chosen keys and their responses, so retries are safe.
pub mod idempotency_keys;
/// `line_verdicts`: city finance's verdict on each payment line (§20 step 3).
pub mod line_verdicts;
/// `payment_lines`: §7 subsidy payments reported by the districts (§20 step 1), in report order.
pub mod payment_lines;
/// `policy_parameters`: dated versions of the policy parameters, never edited once used.
pub mod policy_parameters;
/// `recognitions`: yearly HQ recognitions (§4) with their verdict and parameters.
pub mod recognitions;
/// `revocations`: title revocations approved by the leading group (§22), each starting a ban.
pub mod revocations;
/// `rule_set_rules`: the recognition rules each rule set applies.
pub mod rule_set_rules;
/// `rule_sets`: the policy documents whose rules the service evaluates, each in force from a date.
pub mod rule_sets;
/// `settlement_lines`: one district's row in a settlement.
pub mod settlement_lines;
/// `settlements`: the city's yearly settlement with the districts (§20 steps 4-5).
pub mod settlements;
/// `star_ratings`: yearly star ratings (§5) of recognised HQs.
pub mod star_ratings;
/// `star_rewards`: star rewards granted (§6), with the city / district split.
pub mod star_rewards;
/// `withdrawn_payment_lines`: lines a district withdrew before submitting, with who, when, why.
pub mod withdrawn_payment_lines;
