//! Relay object identification: the `Node` interface, opaque global ids, and `node(id:)` /
//! `nodes(ids:)`, which answer exactly as the direct field of each kind of object would (the same
//! access rule, the same district confinement, the same refusal).
//!
//! A global id is base64url (no padding) of `Kind:key…`, where the key is the object's domain
//! key where it has one (credit code, district code, district and year) and its database id
//! otherwise. Clients treat it as opaque.

use std::fmt::Display;

use async_graphql::{Context, ID, Interface, Object, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::audit::AuditEntry;
use super::districts::{District, DistrictQuery, parse_district_code};
use super::enterprises::{
    Enterprise, EnterpriseQuery, EnterpriseRecognition, EnterpriseStarRating, data_loader,
};
use super::parameters::PolicyParameter;
use super::payments::{Claim, PaymentLine, PaymentQuery};
use super::recognition::StarReward;
use super::settlement::{Adjustment, Finding, Settlement, SettlementDistrict, SettlementQuery};
use super::verdicts::LineVerdict;
use crate::auth::access::{authorize, ensure_own_district};
use crate::error::AppError;
use crate::services::{audit, findings, keyset, parameters, payments, registry};

/// The kinds of object with a global id; each is named for its GraphQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `Enterprise`, by credit code.
    Enterprise,
    /// `District`, by code.
    District,
    /// `Claim`, by district code and fiscal year.
    Claim,
    /// `PaymentLine`, by line id.
    PaymentLine,
    /// `LineVerdict`, by line id.
    LineVerdict,
    /// `Settlement`, by fiscal year.
    Settlement,
    /// `SettlementDistrict`, by fiscal year and district code.
    SettlementDistrict,
    /// `Finding`, by id.
    Finding,
    /// `Adjustment`, by id.
    Adjustment,
    /// `EnterpriseRecognition`, by credit code and year.
    EnterpriseRecognition,
    /// `EnterpriseStarRating`, by credit code and year.
    EnterpriseStarRating,
    /// `StarReward`, by credit code and year.
    StarReward,
    /// `AuditEntry`, by id.
    AuditEntry,
    /// `PolicyParameter`, by version id.
    PolicyParameter,
}

impl NodeKind {
    /// Every kind.
    pub const ALL: [NodeKind; 14] = [
        NodeKind::Enterprise,
        NodeKind::District,
        NodeKind::Claim,
        NodeKind::PaymentLine,
        NodeKind::LineVerdict,
        NodeKind::Settlement,
        NodeKind::SettlementDistrict,
        NodeKind::Finding,
        NodeKind::Adjustment,
        NodeKind::EnterpriseRecognition,
        NodeKind::EnterpriseStarRating,
        NodeKind::StarReward,
        NodeKind::AuditEntry,
        NodeKind::PolicyParameter,
    ];

    /// The GraphQL type name, which is also the id's tag.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Enterprise => "Enterprise",
            NodeKind::District => "District",
            NodeKind::Claim => "Claim",
            NodeKind::PaymentLine => "PaymentLine",
            NodeKind::LineVerdict => "LineVerdict",
            NodeKind::Settlement => "Settlement",
            NodeKind::SettlementDistrict => "SettlementDistrict",
            NodeKind::Finding => "Finding",
            NodeKind::Adjustment => "Adjustment",
            NodeKind::EnterpriseRecognition => "EnterpriseRecognition",
            NodeKind::EnterpriseStarRating => "EnterpriseStarRating",
            NodeKind::StarReward => "StarReward",
            NodeKind::AuditEntry => "AuditEntry",
            NodeKind::PolicyParameter => "PolicyParameter",
        }
    }

    fn parse(tag: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|k| k.name() == tag)
    }
}

/// The global id of an object of `kind` with key `parts`.
pub fn global_id(kind: NodeKind, parts: &[&dyn Display]) -> ID {
    let mut text = kind.name().to_string();
    for part in parts {
        text.push(':');
        text.push_str(&part.to_string());
    }
    ID(URL_SAFE_NO_PAD.encode(text))
}

/// A decoded global id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKey {
    /// An enterprise by credit code.
    Enterprise(String),
    /// A district by code.
    District(String),
    /// A claim by district and fiscal year.
    Claim(String, i32),
    /// A payment line by id.
    PaymentLine(i64),
    /// A line's verdict by line id.
    LineVerdict(i64),
    /// A settlement by fiscal year.
    Settlement(i32),
    /// A settlement's district line by fiscal year and district.
    SettlementDistrict(i32, String),
    /// A finding by id.
    Finding(i64),
    /// An adjustment by id.
    Adjustment(i64),
    /// A recognition by credit code and year.
    EnterpriseRecognition(String, i32),
    /// A star rating by credit code and year.
    EnterpriseStarRating(String, i32),
    /// A star reward by credit code and year.
    StarReward(String, i32),
    /// An audit entry by id.
    AuditEntry(i64),
    /// A parameter version by id.
    PolicyParameter(i64),
}

fn malformed() -> AppError {
    AppError::bad_input(
        "id",
        "not an id of this API (ids are opaque: use one it returned)",
    )
}

/// A credit code part: 18 characters of the code's alphabet.
fn credit_code(part: &str) -> Result<String, AppError> {
    if part.len() == 18
        && part
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        Ok(part.to_string())
    } else {
        Err(malformed())
    }
}

fn district(part: &str) -> Result<String, AppError> {
    parse_district_code("id", part)
        .ok()
        .filter(|code| code == part)
        .ok_or_else(malformed)
}

fn number<T: std::str::FromStr + ToString>(part: &str) -> Result<T, AppError> {
    let value: T = part.parse().map_err(|_| malformed())?;
    // One text per id: `007` or `+7` is not the id of 7.
    if value.to_string() == part {
        Ok(value)
    } else {
        Err(malformed())
    }
}

/// Decodes a global id.
///
/// # Errors
/// `BAD_USER_INPUT` on `id` for anything that is not an id this API issues.
pub fn decode(id: &str) -> Result<NodeKey, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let mut parts = text.split(':');
    let kind = parts
        .next()
        .and_then(NodeKind::parse)
        .ok_or_else(malformed)?;
    let parts: Vec<&str> = parts.collect();
    let key = match (kind, parts.as_slice()) {
        (NodeKind::Enterprise, [cc]) => NodeKey::Enterprise(credit_code(cc)?),
        (NodeKind::District, [code]) => NodeKey::District(district(code)?),
        (NodeKind::Claim, [code, year]) => NodeKey::Claim(district(code)?, number(year)?),
        (NodeKind::PaymentLine, [id]) => NodeKey::PaymentLine(number(id)?),
        (NodeKind::LineVerdict, [id]) => NodeKey::LineVerdict(number(id)?),
        (NodeKind::Settlement, [year]) => NodeKey::Settlement(number(year)?),
        (NodeKind::SettlementDistrict, [year, code]) => {
            NodeKey::SettlementDistrict(number(year)?, district(code)?)
        }
        (NodeKind::Finding, [id]) => NodeKey::Finding(number(id)?),
        (NodeKind::Adjustment, [id]) => NodeKey::Adjustment(number(id)?),
        (NodeKind::EnterpriseRecognition, [cc, year]) => {
            NodeKey::EnterpriseRecognition(credit_code(cc)?, number(year)?)
        }
        (NodeKind::EnterpriseStarRating, [cc, year]) => {
            NodeKey::EnterpriseStarRating(credit_code(cc)?, number(year)?)
        }
        (NodeKind::StarReward, [cc, year]) => NodeKey::StarReward(credit_code(cc)?, number(year)?),
        (NodeKind::AuditEntry, [id]) => NodeKey::AuditEntry(number(id)?),
        (NodeKind::PolicyParameter, [id]) => NodeKey::PolicyParameter(number(id)?),
        _ => return Err(malformed()),
    };
    Ok(key)
}

/// An object with a global id, refetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "An opaque global id: `node(id:)` refetches the object, and client caches key on it."
))]
#[allow(clippy::large_enum_variant)]
pub enum Node {
    /// An enterprise.
    Enterprise(Enterprise),
    /// A district.
    District(District),
    /// A claim.
    Claim(Claim),
    /// A payment line.
    PaymentLine(PaymentLine),
    /// A line's verdict.
    LineVerdict(LineVerdict),
    /// A settlement.
    Settlement(Settlement),
    /// A settlement's district line.
    SettlementDistrict(SettlementDistrict),
    /// A finding.
    Finding(Finding),
    /// An adjustment.
    Adjustment(Adjustment),
    /// A recognition of an enterprise.
    EnterpriseRecognition(EnterpriseRecognition),
    /// A star rating of an enterprise.
    EnterpriseStarRating(EnterpriseStarRating),
    /// A star reward.
    StarReward(StarReward),
    /// An audit entry.
    AuditEntry(AuditEntry),
    /// A parameter version.
    PolicyParameter(PolicyParameter),
}

/// Resolves one id as its direct field would: the direct field's access rule is checked first
/// (so a refusal is the same refusal), then the object is fetched with the same confinement.
async fn resolve(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>, async_graphql::Error> {
    let key = decode(id)?;
    let caller = super::caller(ctx);
    let allowed = |field: &str| authorize("Query", field, caller);
    let node = match key {
        NodeKey::Enterprise(cc) => {
            allowed("enterprise")?;
            EnterpriseQuery
                .enterprise(ctx, cc)
                .await?
                .map(Node::Enterprise)
        }
        NodeKey::District(code) => {
            allowed("district")?;
            DistrictQuery.district(ctx, code).await?.map(Node::District)
        }
        NodeKey::Claim(code, year) => {
            allowed("claim")?;
            PaymentQuery.claim(ctx, code, year).await?.map(Node::Claim)
        }
        NodeKey::PaymentLine(line_id) => {
            allowed("paymentLines")?;
            own_line(ctx, line_id)
                .await?
                .map(PaymentLine::try_from)
                .transpose()?
                .map(Node::PaymentLine)
        }
        NodeKey::LineVerdict(line_id) => {
            // A verdict is read as a claim's verdicts are.
            allowed("claim")?;
            match own_line(ctx, line_id).await? {
                Some(_) => data_loader(ctx)?
                    .load_one(super::enterprises::VerdictKey(line_id))
                    .await?
                    .map(LineVerdict::from_row)
                    .transpose()?
                    .map(Node::LineVerdict),
                None => None,
            }
        }
        NodeKey::Settlement(year) => {
            allowed("settlement")?;
            SettlementQuery
                .settlement(ctx, year)
                .await?
                .map(Node::Settlement)
        }
        NodeKey::SettlementDistrict(year, code) => {
            allowed("settlement")?;
            // A district actor's settlement has its own line only.
            SettlementQuery
                .settlement(ctx, year)
                .await?
                .and_then(|s| s.districts.into_iter().find(|d| d.district_code == code))
                .map(Node::SettlementDistrict)
        }
        NodeKey::Finding(finding_id) => {
            allowed("findings")?;
            finding(ctx, finding_id).await?.map(Node::Finding)
        }
        NodeKey::Adjustment(adjustment_id) => {
            allowed("findings")?;
            let state = super::state(ctx)?;
            let scope = caller.actor().and_then(|a| a.district_scope());
            // As in `findings`, a district actor sees only its own district's adjustments.
            findings::adjustment(&state.db, adjustment_id)
                .await?
                .filter(|a| scope.is_none_or(|own| own == a.district_code))
                .map(|a| Node::Adjustment(Adjustment::from(a)))
        }
        NodeKey::EnterpriseRecognition(cc, year) => {
            allowed("enterprise")?;
            match EnterpriseQuery.enterprise(ctx, cc).await? {
                Some(enterprise) => enterprise
                    .recognitions(ctx)
                    .await?
                    .into_iter()
                    .find(|r| r.year == year)
                    .map(Node::EnterpriseRecognition),
                None => None,
            }
        }
        NodeKey::EnterpriseStarRating(cc, year) => {
            allowed("enterprise")?;
            match EnterpriseQuery.enterprise(ctx, cc).await? {
                Some(enterprise) => enterprise
                    .star_ratings(ctx)
                    .await?
                    .into_iter()
                    .find(|r| r.year == year)
                    .map(Node::EnterpriseStarRating),
                None => None,
            }
        }
        NodeKey::StarReward(cc, year) => {
            allowed("starRewards")?;
            let state = super::state(ctx)?;
            let actor = super::actor(ctx)?;
            // As `starRewards` without `grantedOn`: a reward not granted yet is computed for
            // today; the district confinement is the list's own.
            crate::services::recognition::rewards::star_rewards(
                &state.db,
                Some(actor),
                year,
                registry::today(),
            )
            .await?
            .into_iter()
            .find(|line| line.credit_code == cc)
            .map(|line| Node::StarReward(StarReward::from(line)))
        }
        NodeKey::AuditEntry(entry_id) => {
            allowed("auditLog")?;
            let state = super::state(ctx)?;
            audit::entry(&state.db, entry_id)
                .await?
                .map(AuditEntry::try_from)
                .transpose()?
                .map(Node::AuditEntry)
        }
        NodeKey::PolicyParameter(version_id) => {
            allowed("policyParameters")?;
            let state = super::state(ctx)?;
            parameters::version(&state.db, version_id)
                .await?
                .map(|v| Node::PolicyParameter(PolicyParameter::from(v)))
        }
    };
    Ok(node)
}

/// A payment line, for a district actor only one of its own district (as `paymentLines` with its
/// district named: `FORBIDDEN` otherwise).
async fn own_line(
    ctx: &Context<'_>,
    line_id: i64,
) -> Result<Option<crate::services::records::PaymentLineRecord>, AppError> {
    let state = super::state(ctx)?;
    let line = payments::line(&state.db, line_id).await?;
    if let Some(line) = &line {
        ensure_own_district(super::caller(ctx), &line.district_code)?;
    }
    Ok(line)
}

/// A finding as `findings` shows it: a district actor sees it only when it names the district's
/// lines, and then only its own lines and adjustments.
async fn finding(ctx: &Context<'_>, finding_id: i64) -> Result<Option<Finding>, AppError> {
    let state = super::state(ctx)?;
    let scope = super::caller(ctx).actor().and_then(|a| a.district_scope());
    let filter = findings::FindingFilter {
        fiscal_year: None,
        district_code: scope.map(str::to_string),
        id: Some(finding_id),
    };
    let first_one = keyset::PageRequest {
        after: None,
        before: None,
        size: 1,
        direction: keyset::Direction::Forward,
    };
    let page = findings::finding_page(&state.db, &filter, scope, &first_one).await?;
    page.items
        .into_iter()
        .next()
        .map(|(_, f)| Finding::try_from(f))
        .transpose()
}

/// The object identification queries.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id, under exactly the access rules of its direct field
    /// (another district's claim through `node` is refused as through `claim`); `null` if there
    /// is none. `BAD_USER_INPUT` for a text that is not an id of this API.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as an object's `id` gave it.")] id: ID,
    ) -> Result<Option<Node>> {
        resolve(ctx, &id).await
    }

    /// The objects with these global ids, in the order asked (`null` where there is none); at
    /// most the maximum page size of ids. A refusal of any one refuses the whole list, with the
    /// refusal of the first refused id.
    #[graphql(complexity = "ids.len() * child_complexity + 1")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, as objects' `id` gave them.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        let state = super::state(ctx)?;
        if ids.len() > state.pages.max_size {
            return Err(AppError::bad_input(
                "ids",
                format!("at most {} ids at once", state.pages.max_size),
            )
            .into());
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in &ids {
            found.push(resolve(ctx, id).await?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: NodeKind, parts: &[&dyn Display]) -> String {
        global_id(kind, parts).0
    }

    #[test]
    fn every_kind_round_trips() {
        let cc = "91330100716105852F";
        let cases = [
            (
                id(NodeKind::Enterprise, &[&cc]),
                NodeKey::Enterprise(cc.into()),
            ),
            (
                id(NodeKind::District, &[&"330106"]),
                NodeKey::District("330106".into()),
            ),
            (
                id(NodeKind::Claim, &[&"330106", &2024]),
                NodeKey::Claim("330106".into(), 2024),
            ),
            (id(NodeKind::PaymentLine, &[&7]), NodeKey::PaymentLine(7)),
            (id(NodeKind::LineVerdict, &[&7]), NodeKey::LineVerdict(7)),
            (
                id(NodeKind::Settlement, &[&2024]),
                NodeKey::Settlement(2024),
            ),
            (
                id(NodeKind::SettlementDistrict, &[&2024, &"330106"]),
                NodeKey::SettlementDistrict(2024, "330106".into()),
            ),
            (id(NodeKind::Finding, &[&3]), NodeKey::Finding(3)),
            (id(NodeKind::Adjustment, &[&4]), NodeKey::Adjustment(4)),
            (
                id(NodeKind::EnterpriseRecognition, &[&cc, &2024]),
                NodeKey::EnterpriseRecognition(cc.into(), 2024),
            ),
            (
                id(NodeKind::EnterpriseStarRating, &[&cc, &2024]),
                NodeKey::EnterpriseStarRating(cc.into(), 2024),
            ),
            (
                id(NodeKind::StarReward, &[&cc, &2024]),
                NodeKey::StarReward(cc.into(), 2024),
            ),
            (id(NodeKind::AuditEntry, &[&9]), NodeKey::AuditEntry(9)),
            (
                id(NodeKind::PolicyParameter, &[&11]),
                NodeKey::PolicyParameter(11),
            ),
        ];
        assert_eq!(cases.len(), NodeKind::ALL.len());
        for (text, key) in cases {
            assert_eq!(decode(&text).unwrap(), key, "{text}");
        }
    }

    #[test]
    fn ids_of_different_kinds_with_the_same_key_differ() {
        assert_ne!(
            id(NodeKind::PaymentLine, &[&7]),
            id(NodeKind::LineVerdict, &[&7])
        );
    }

    #[test]
    fn anything_else_is_refused_on_the_id() {
        let raw = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for bad in [
            String::new(),
            "not base64!".to_string(),
            raw("Enterprise"),
            raw("Unknown:1"),
            raw("PaymentLine:"),
            raw("PaymentLine:x"),
            raw("PaymentLine:007"),
            raw("PaymentLine:+7"),
            raw("PaymentLine:1:2"),
            raw("Claim:330106"),
            raw("Claim:33010:2024"),
            raw("Claim: 330106:2024"),
            raw("Enterprise:91330100716105852f"),
            raw("Enterprise:9133010071610585"),
            "RW50ZXJwcmlzZTo=".to_string(),
        ] {
            let err = decode(&bad).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_USER_INPUT", "{bad}");
        }
    }
}
