//! The access table: for every GraphQL root field, who may call it and how a `DISTRICT` actor is
//! confined (who sees what: README, "Roles and tokens").
//!
//! The table is enforced by [`crate::graphql::AccessControl`], an extension that runs before every
//! root field: a root field missing from the table is refused for everyone, so a new field cannot
//! be reachable before someone decides who may call it. A test walks the schema and fails if any
//! root field has no rule.

use super::{Caller, Role};
use crate::error::AppError;

/// Who may call a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, anonymous callers included (what §21 publishes).
    Public,
    /// Any authenticated actor.
    Authenticated,
    /// Only these roles.
    Roles(&'static [Role]),
}

/// How a `DISTRICT` actor is confined on a field it may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistrictScope {
    /// Nothing district-specific is returned.
    None,
    /// The resolver returns only the actor's own district's rows (and nested rows).
    OwnRowsOnly,
    /// The named argument must be the actor's own district (checked by the resolver).
    ArgumentIsOwnDistrict(&'static str),
}

/// One row of the access table.
#[derive(Debug, Clone, Copy)]
pub struct FieldRule {
    /// `Query.field`, `Mutation.field` or `Subscription.field`.
    pub field: &'static str,
    /// Who may call it.
    pub audience: Audience,
    /// How a district actor is confined.
    pub district_scope: DistrictScope,
}

const STAFF_READERS: &[Role] = &[Role::HqOffice, Role::CityFinance, Role::Auditor];
const AUDIT_READERS: &[Role] = &[Role::CityFinance, Role::Auditor];
const HQ_OFFICE_ONLY: &[Role] = &[Role::HqOffice];
const DISTRICT_ONLY: &[Role] = &[Role::District];
const FINANCE_ONLY: &[Role] = &[Role::CityFinance];
/// Confidential settlement data: staff readers and a district for its own rows.
const SETTLEMENT_READERS: &[Role] = &[
    Role::HqOffice,
    Role::CityFinance,
    Role::Auditor,
    Role::District,
];
/// Confidential recognition data: the staff readers, and a district for its own enterprises.
const RECOGNITION_READERS: &[Role] = &[
    Role::HqOffice,
    Role::CityFinance,
    Role::Auditor,
    Role::District,
];

/// The table. Keep it sorted by field within Query, then Mutation, then Subscription.
pub const ACCESS_TABLE: &[FieldRule] = &[
    FieldRule {
        field: "Query.auditLog",
        audience: Audience::Roles(AUDIT_READERS),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.verifyAuditLog",
        audience: Audience::Roles(AUDIT_READERS),
        district_scope: DistrictScope::None,
    },
    // `node` and `nodes` check, for each id, the rule of the kind's direct field (and its
    // district confinement) before fetching it.
    FieldRule {
        field: "Query.node",
        audience: Audience::Public,
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.nodes",
        audience: Audience::Public,
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.benefits",
        audience: Audience::Roles(RECOGNITION_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.benefitsOfYear",
        audience: Audience::Roles(RECOGNITION_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.district",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.districts",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.enterprise",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.enterprises",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.evaluateRecognition",
        audience: Audience::Roles(RECOGNITION_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.recognitionRound",
        audience: Audience::Roles(RECOGNITION_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.me",
        audience: Audience::Public,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.policyParameters",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.publishedHeadquarters",
        audience: Audience::Public,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.ruleSets",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.starRewards",
        audience: Audience::Roles(RECOGNITION_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.targetProgress",
        audience: Audience::Authenticated,
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.addParameterVersion",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.grantStarRewards",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.rateStars",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.recognize",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.recordEnterpriseEvent",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.recordFigures",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.registerEnterprise",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.registerAmendment",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.revokeTitle",
        audience: Audience::Roles(HQ_OFFICE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.claim",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::ArgumentIsOwnDistrict("districtCode"),
    },
    FieldRule {
        field: "Query.claims",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.paymentLines",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::ArgumentIsOwnDistrict("districtCode"),
    },
    FieldRule {
        field: "Mutation.reportPayments",
        audience: Audience::Roles(DISTRICT_ONLY),
        district_scope: DistrictScope::ArgumentIsOwnDistrict("districtCode"),
    },
    FieldRule {
        field: "Mutation.withdrawPaymentLines",
        audience: Audience::Roles(DISTRICT_ONLY),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Mutation.returnClaim",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.submitClaim",
        audience: Audience::Roles(DISTRICT_ONLY),
        district_scope: DistrictScope::ArgumentIsOwnDistrict("districtCode"),
    },
    FieldRule {
        field: "Query.settlement",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Query.findings",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Mutation.settlementDownloadLink",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
    FieldRule {
        field: "Mutation.approveSettlement",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Query.simulateSettlement",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.draftSettlement",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.reconcileClaim",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.reconcileClaims",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Mutation.recordFinding",
        audience: Audience::Roles(FINANCE_ONLY),
        district_scope: DistrictScope::None,
    },
    FieldRule {
        field: "Subscription.claimEvents",
        audience: Audience::Roles(SETTLEMENT_READERS),
        district_scope: DistrictScope::OwnRowsOnly,
    },
];

/// Roles that see confidential data of every district.
pub const CONFIDENTIAL_READERS: &[Role] = STAFF_READERS;

/// The rule for `Type.field`, if any.
pub fn rule_for(parent_type: &str, field: &str) -> Option<&'static FieldRule> {
    ACCESS_TABLE.iter().find(|rule| {
        rule.field
            .split_once('.')
            .is_some_and(|(t, f)| t == parent_type && f == field)
    })
}

/// Checks `caller` against the rule of a root field.
///
/// # Errors
/// `UNAUTHENTICATED` for an anonymous caller on a non-public field, `FORBIDDEN` for an actor
/// whose role is not listed, and `FORBIDDEN` for a field with no rule at all.
pub fn authorize(parent_type: &str, field: &str, caller: &Caller) -> Result<(), AppError> {
    let Some(rule) = rule_for(parent_type, field) else {
        tracing::error!(parent_type, field, "root field without an access rule");
        return Err(AppError::Forbidden(format!(
            "{parent_type}.{field} has no access rule"
        )));
    };
    match (rule.audience, caller) {
        (Audience::Public, _) => Ok(()),
        (_, Caller::Anonymous) => Err(AppError::Unauthenticated(
            "this field needs a bearer token".into(),
        )),
        (Audience::Authenticated, Caller::Actor(_)) => Ok(()),
        (Audience::Roles(roles), Caller::Actor(actor)) if roles.contains(&actor.role) => Ok(()),
        (Audience::Roles(_), Caller::Actor(actor)) => Err(AppError::Forbidden(format!(
            "role {} may not use {parent_type}.{field}",
            actor.role
        ))),
    }
}

/// For fields whose rule is [`DistrictScope::ArgumentIsOwnDistrict`]: a `DISTRICT` actor may only
/// name its own district.
///
/// # Errors
/// `FORBIDDEN` when a district actor names another district.
pub fn ensure_own_district(caller: &Caller, district_code: &str) -> Result<(), AppError> {
    match caller.actor().and_then(|a| a.district_scope()) {
        Some(own) if own != district_code => Err(AppError::Forbidden(format!(
            "a district actor may act only for its own district ({own})"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Actor;

    fn actor(role: Role) -> Caller {
        Caller::Actor(Actor {
            sub: "t".into(),
            role,
            district: (role == Role::District).then(|| "330106".to_string()),
        })
    }

    #[test]
    fn the_table_has_no_duplicate_fields() {
        let mut fields: Vec<_> = ACCESS_TABLE.iter().map(|r| r.field).collect();
        fields.sort_unstable();
        let before = fields.len();
        fields.dedup();
        assert_eq!(before, fields.len());
    }

    #[test]
    fn an_anonymous_caller_gets_only_public_fields() {
        assert!(authorize("Query", "me", &Caller::Anonymous).is_ok());
        let err = authorize("Query", "districts", &Caller::Anonymous).unwrap_err();
        assert_eq!(err.code().as_str(), "UNAUTHENTICATED");
    }

    #[test]
    fn the_audit_log_is_for_finance_and_auditors_only() {
        for role in Role::ALL {
            let allowed = authorize("Query", "auditLog", &actor(role)).is_ok();
            assert_eq!(
                allowed,
                matches!(role, Role::CityFinance | Role::Auditor),
                "{role}"
            );
        }
    }

    #[test]
    fn a_field_without_a_rule_is_refused_for_everyone() {
        for role in Role::ALL {
            assert!(authorize("Query", "secretField", &actor(role)).is_err());
        }
    }

    #[test]
    fn a_district_actor_may_name_only_its_own_district() {
        assert!(ensure_own_district(&actor(Role::District), "330106").is_ok());
        assert!(ensure_own_district(&actor(Role::District), "330108").is_err());
        assert!(ensure_own_district(&actor(Role::CityFinance), "330108").is_ok());
    }
}
