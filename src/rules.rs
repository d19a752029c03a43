//! The rules as the code applies them, printed from the code itself (`hq-api rules --markdown`,
//! committed as `docs/rules.md`; a test fails when the two drift): the clauses, the recognition
//! rules and routes, the reconciliation reasons in table order, the shipped parameters, and every
//! reading of the policy the code takes, from its `INTERPRETATION(§n):` comments.

use std::fmt::Write as _;

use crate::policy::benefits::BenefitReason;
use crate::policy::params::default_parameters;
use crate::policy::reconciliation::ReasonCode;
use crate::policy::{Clause, RuleId};

mod collected {
    include!(concat!(env!("OUT_DIR"), "/interpretations.rs"));
}

/// Every `INTERPRETATION(§n):` comment of the source tree: (clause, file, text).
pub use collected::INTERPRETATIONS;

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn names(parameters: &[&str]) -> String {
    if parameters.is_empty() {
        "—".into()
    } else {
        parameters
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Document order of a clause id: `§1` < `§3.1` < `§20` < `§final`; `None` if it is not one.
fn clause_order(clause: &str) -> Option<(u32, u32)> {
    let id = clause.strip_prefix('§')?;
    if id == "final" {
        return Some((u32::MAX, 0));
    }
    let (major, minor) = id.split_once('.').unwrap_or((id, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The rule book in Markdown.
#[must_use]
pub fn markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The rules of 杭政办〔2023〕3号 as hq-api applies them\n\n\
         Printed from the code by `hq-api rules --markdown`; a test fails when this file and the \
         code differ. Clause ids follow the document's numbering (`§3.1` = （三）1).\n"
    );

    let _ = writeln!(out, "## Clauses\n\n| clause | about |\n| --- | --- |");
    for clause in Clause::ALL {
        let _ = writeln!(out, "| `{}` | {} |", clause.as_str(), cell(clause.title()));
    }

    let _ = writeln!(
        out,
        "\n## Recognition rules (§3, §22)\n\nEvery rule is evaluated and listed in this order.\n\n\
         | # | rule | clause | passes when | parameters |\n| --- | --- | --- | --- | --- |"
    );
    for (i, rule) in RuleId::ALL.into_iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {} | {} |",
            i + 1,
            rule.as_str(),
            rule.clause().as_str(),
            cell(rule.condition()),
            names(rule.parameters())
        );
    }
    let basic = RuleId::BASIC.map(RuleId::as_str);
    let _ = writeln!(
        out,
        "\nBasic conditions: `{}`. Routes, tried in this order: `STANDARD` (basic + \
         `REVENUE_THRESHOLD`), `RD` (basic + the four `RD_*`), `LISTED` (basic + the two \
         `LISTED_*`). Eligible: `NOT_BANNED` and some route passes.",
        basic.join("`, `")
    );

    let _ = writeln!(
        out,
        "\n## Reconciliation reasons (§20 step 3)\n\nEvery reason is checked and listed in this \
         order; the first is the line's primary reason.\n\n\
         | # | reason | clause | cuts | when | parameters |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (i, reason) in ReasonCode::ALL.into_iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {} | {} | {} |",
            i + 1,
            reason.as_str(),
            reason.clause().as_str(),
            if reason.is_whole_line() {
                "the whole line"
            } else {
                "above the limit"
            },
            cell(reason.condition()),
            names(reason.parameters())
        );
    }

    let _ = writeln!(
        out,
        "\n## Benefit reasons (§6, §7, §8, §10, §12)\n\nWhy an item of a year's benefits \
         (`benefits`, `benefitsOfYear`) is not open or nothing is due; the clause is the item's.\n\n\
         | reason | means |\n| --- | --- |"
    );
    for reason in BenefitReason::ALL {
        let _ = writeln!(
            out,
            "| `{}` | {} |",
            reason.as_str(),
            cell(reason.description())
        );
    }

    let _ = writeln!(
        out,
        "\n## Parameters as shipped\n\nDated versions replace these; a district may set its own \
         `rent_subsidy.*` and `purchase_subsidy.*`. A placeholder was found in no public text and \
         a deployment must set it.\n\n\
         | parameter | default | basis | placeholder |\n| --- | --- | --- | --- |"
    );
    for parameter in default_parameters() {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            parameter.name,
            cell(&parameter.value.to_string()),
            cell(parameter.reference),
            if parameter.placeholder { "yes" } else { "" }
        );
    }

    let _ = writeln!(
        out,
        "\n## Readings the code takes where the text is silent\n\nEach is an \
         `INTERPRETATION(§n):` comment where the rule lives, in clause order.\n"
    );
    let mut readings: Vec<_> = INTERPRETATIONS.iter().collect();
    readings.sort_by_key(|(clause, file, _)| (clause_order(clause), *file));
    for (clause, file, text) in readings {
        let _ = writeln!(out, "- **{clause}** ({file}): {text}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_rules_md_is_what_the_code_prints() {
        let committed = include_str!("../docs/rules.md");
        assert!(
            committed == markdown(),
            "docs/rules.md drifted: run `cargo run -- rules --markdown > docs/rules.md`"
        );
    }

    #[test]
    fn every_parameter_a_rule_or_reason_reads_is_shipped() {
        let shipped: Vec<&str> = default_parameters().iter().map(|p| p.name).collect();
        let read = RuleId::ALL
            .iter()
            .flat_map(|r| r.parameters())
            .chain(ReasonCode::ALL.iter().flat_map(|r| r.parameters()));
        for name in read {
            assert!(shipped.contains(name), "{name} is not a shipped parameter");
        }
    }

    #[test]
    fn every_interpretation_cites_a_clause_and_says_something() {
        assert!(!INTERPRETATIONS.is_empty());
        for (clause, file, text) in INTERPRETATIONS {
            assert!(
                clause_order(clause).is_some(),
                "{file}: `{clause}` is not a clause id"
            );
            assert!(text.len() > 20, "{file}: an empty interpretation");
        }
    }
}
