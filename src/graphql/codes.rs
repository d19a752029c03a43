//! The closed sets of §20 and of the district table as GraphQL enums, each exposing the type the
//! policy or a service declares (`remote`), so that a client is typed by the same list the rules
//! use. A stored value this build does not know is an internal error, never a default.

use std::str::FromStr;

use async_graphql::Enum;

use crate::error::AppError;

/// Parses a stored code into its enum.
///
/// # Errors
/// Internal error for a code this build does not know.
pub fn stored<T, G>(text: &str) -> Result<G, AppError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
    G: From<T>,
{
    text.parse::<T>()
        .map(G::from)
        .map_err(|err| AppError::internal(err.to_string()))
}

/// Where a district's yearly claim stands (§20 steps 2 to 5). A claim's history records, at each
/// step, the status it moved to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ClaimStatus",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::settlement::ClaimStatus"
)]
pub enum GqlClaimStatus {
    /// §20 step 2: submitted by the district, waiting for reconciliation; its lines are frozen.
    Submitted,
    /// Returned to the district with a reason: it may report again and submit again.
    Returned,
    /// §20 step 3: every line has a verdict.
    Reconciled,
    /// §20 step 5: counted in an approved settlement; the year is locked.
    Approved,
}

/// Where the city's settlement of a fiscal year stands (§20 steps 4 and 5).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "SettlementStatus",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::settlement::SettlementStatus"
)]
pub enum GqlSettlementStatus {
    /// §20 step 4: drafted; drafting again replaces it.
    Draft,
    /// §20 step 5: approved; the fiscal year is locked and a later finding becomes an adjustment.
    Approved,
}

/// Why a district line of a settlement has zeros.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ZeroReason",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::settlement::ZeroReason"
)]
pub enum GqlZeroReason {
    /// The district reported no line paid in the year.
    NoLines,
    /// It has lines but did not submit its claim (§20 step 2).
    NotSubmitted,
    /// Its claim is submitted but not reconciled (§20 step 3).
    NotReconciled,
}

/// Why (part of) a payment line is cut, in the order of the reason table (docs/rules.md); each
/// value's description begins with the clause that decides it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ReasonCode",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::reconciliation::ReasonCode"
)]
pub enum GqlReasonCode {
    /// §final: paid before the policy's first day (`policy.valid_from`) or after its last
    /// (`policy.valid_to`).
    OutsidePolicyPeriod,
    /// §4: the enterprise holds no recognition for the subsidy year.
    NotRecognized,
    /// §7: rated below 3 stars for the subsidy year, or not rated.
    StarsBelow3,
    /// §7: the enterprise owned office premises in Hangzhou (RENT: on any day of the subsidy
    /// year; PURCHASE: on the day before the transaction date).
    OwnsOffice,
    /// §7: a RENT line of an enterprise with a reported PURCHASE line for the same or an earlier
    /// subsidy year (租房、购房补助政策不能同时享受).
    RentAndPurchase,
    /// §7: a PURCHASE line whose contract is not the enterprise's first purchase (首次购置).
    PurchaseNotFirst,
    /// §20: on the payment date the enterprise was not registered in the reporting district.
    WrongDistrict,
    /// §22: the title was revoked on or before the payment date, after the recognition for the
    /// subsidy year was decided.
    TitleRevoked,
    /// §20: the same payment was reported earlier by a line not itself cut for `WRONG_DISTRICT`.
    DuplicatePayment,
    /// §7: what survives the whole-line rules is above the district's ratio or cap
    /// (min(floor(ratio × basis), cap) of its group).
    OverDistrictRatio,
}

/// The kind of a county-level division of Hangzhou (GB/T 2260).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "DistrictKind",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::services::districts::DistrictKind"
)]
pub enum GqlDistrictKind {
    /// 区: an urban district.
    District,
    /// 县: a county.
    County,
    /// 县级市: a county-level city.
    City,
}

/// Where a finding on approved lines comes from (§20 step 6).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "FindingKind",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::services::findings::FindingKind"
)]
pub enum GqlFindingKind {
    /// Recorded by the finance bureau with `recordFinding` (§20 step 6).
    Audit,
    /// Recorded by a revocation reaching approved payments (§22).
    Revocation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::reconciliation::ReasonCode;
    use crate::policy::settlement::{ClaimStatus, SettlementStatus, ZeroReason};
    use crate::services::districts::DistrictKind;
    use crate::services::findings::FindingKind;
    use async_graphql::Value;
    use async_graphql::resolver_utils::EnumType;

    /// The GraphQL names of an enum, in declaration order.
    fn names<G: EnumType>() -> Vec<String> {
        G::items()
            .iter()
            .map(|item| item.name.to_string())
            .collect()
    }

    fn codes<'a>(all: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        all.into_iter().map(str::to_string).collect()
    }

    #[test]
    fn every_enum_serialises_each_value_as_its_stored_code() {
        assert_eq!(
            names::<GqlClaimStatus>(),
            codes(ClaimStatus::ALL.map(ClaimStatus::as_str))
        );
        assert_eq!(
            names::<GqlSettlementStatus>(),
            codes(SettlementStatus::ALL.map(SettlementStatus::as_str))
        );
        assert_eq!(
            names::<GqlZeroReason>(),
            codes(ZeroReason::ALL.map(ZeroReason::as_str))
        );
        assert_eq!(
            names::<GqlReasonCode>(),
            codes(ReasonCode::ALL.map(ReasonCode::as_str))
        );
        assert_eq!(
            names::<GqlDistrictKind>(),
            codes(DistrictKind::ALL.map(DistrictKind::as_str))
        );
        assert_eq!(
            names::<GqlFindingKind>(),
            codes(FindingKind::ALL.map(FindingKind::as_str))
        );
        for code in ReasonCode::ALL {
            let value = async_graphql::InputType::to_value(&GqlReasonCode::from(code));
            assert_eq!(value, Value::Enum(async_graphql::Name::new(code.as_str())));
        }
    }

    #[test]
    fn each_reason_code_description_begins_with_its_clause() {
        let sdl = crate::graphql::sdl();
        let block = sdl
            .split("enum ReasonCode {")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .expect("the ReasonCode enum in the SDL");
        // `"""`, the description's lines, `"""`, the value.
        let lines: Vec<&str> = block.lines().map(str::trim).collect();
        let mut checked = 0;
        for code in ReasonCode::ALL {
            let at = lines
                .iter()
                .position(|line| *line == code.as_str())
                .expect("the value");
            let opening = lines[..at - 1]
                .iter()
                .rposition(|line| *line == "\"\"\"")
                .expect("a description");
            let description = lines[opening + 1];
            assert!(
                description.starts_with(&format!("{}:", code.clause().as_str())),
                "{}: {description}",
                code.as_str()
            );
            checked += 1;
        }
        assert_eq!(checked, ReasonCode::ALL.len());
    }

    #[test]
    fn an_unknown_stored_code_is_an_error_not_a_default() {
        let known: GqlClaimStatus = stored::<ClaimStatus, _>("RETURNED").expect("known");
        assert_eq!(known, GqlClaimStatus::Returned);
        for text in ["", "returned", "CANCELLED"] {
            let err = stored::<ClaimStatus, GqlClaimStatus>(text).unwrap_err();
            assert_eq!(err.code().as_str(), "INTERNAL_SERVER_ERROR", "{text}");
        }
        assert!(stored::<DistrictKind, GqlDistrictKind>("TOWN").is_err());
        assert!(stored::<FindingKind, GqlFindingKind>("MANUAL").is_err());
    }
}
