//! The verdict on one payment line (§20 step 3), as a payment line and a reconciliation show it.

use async_graphql::{ComplexObject, Context, ID, Result, SimpleObject};

use super::codes::{self, GqlReasonCode};
use super::scalars::{DateTime, Decimal};
use crate::error::AppError;
use crate::policy::money::Money;
use crate::policy::reconciliation::{CutReason, ReasonCode};

fn money(fen: i64) -> Decimal {
    Money::from_fen(fen).into()
}

/// One reason a line was cut, with the clause that decided it.
#[derive(SimpleObject, Debug, Clone)]
pub struct LineCutReason {
    /// The reason.
    pub code: GqlReasonCode,
    /// The clause, e.g. `§7`.
    pub clause: String,
    /// The facts and figures behind it.
    pub detail: String,
}

/// The verdict on one payment line (§20 step 3).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct LineVerdict {
    /// The line.
    pub line_id: i64,
    /// What counts towards the district's actual spending (0 ≤ eligible ≤ paid).
    pub eligible: Decimal,
    /// Paid − eligible.
    pub cut: Decimal,
    /// Every reason, in the reason table's order (docs/rules.md); empty when nothing is cut.
    pub reasons: Vec<LineCutReason>,
    /// The first reason in table order.
    pub primary_reason: Option<GqlReasonCode>,
    /// The `OVER_DISTRICT_RATIO` group of a line that survived the whole-line rules.
    pub ratio_group: Option<String>,
    /// The group's limit: min(floor(ratio × basis), cap).
    pub group_limit: Option<Decimal>,
    /// Ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
    /// When it was decided.
    pub decided_at: DateTime,
    /// Who decided it (token subject).
    pub decided_by: String,
}

#[ComplexObject]
impl LineVerdict {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::LineVerdict,
            &[&self.line_id],
        ))
    }
}

impl LineVerdict {
    /// Shapes a stored verdict.
    ///
    /// # Errors
    /// Internal error for unreadable stored JSON.
    pub fn from_row(v: crate::services::records::LineVerdictRecord) -> Result<Self, AppError> {
        let reasons: Vec<CutReason> =
            serde_json::from_str(&v.reasons).map_err(AppError::internal)?;
        let versions: Vec<i64> =
            serde_json::from_str(&v.parameter_versions).map_err(AppError::internal)?;
        Ok(LineVerdict {
            line_id: v.line_id,
            eligible: money(v.eligible_fen),
            cut: money(v.cut_fen),
            reasons: reasons
                .into_iter()
                .map(|r| LineCutReason {
                    code: r.code.into(),
                    clause: r.clause.as_str().to_string(),
                    detail: r.detail,
                })
                .collect(),
            primary_reason: v
                .primary_reason
                .as_deref()
                .map(codes::stored::<ReasonCode, _>)
                .transpose()?,
            ratio_group: v.ratio_group,
            group_limit: v.group_limit_fen.map(money),
            parameter_version_ids: versions,
            decided_at: v.decided_at.into(),
            decided_by: v.decided_by,
        })
    }
}
