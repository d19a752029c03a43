//! The enterprise registry: `enterprise`, `enterprises`, and the HQ office's mutations
//! `registerEnterprise`, `recordEnterpriseEvent` and `recordFigures`.
//!
//! Who sees what (README, "Roles and tokens"): every authenticated actor reads the registry (facts and events);
//! yearly figures are confidential: `HQ_OFFICE`, `CITY_FINANCE` and `AUDITOR` read them all, a
//! `DISTRICT` actor only those of enterprises registered in its district today, `VIEWER` none. A
//! figure the caller may not read is a `FORBIDDEN` error on the field, never a silent null.
//! Nested fields are batched per request through [`EnterpriseDataLoader`] (no N+1 queries).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject,
};
use chrono::NaiveDate;

use super::districts::District;
pub use super::facts::{EnterpriseFacts, FactChangesInput, RegisterEnterpriseInput};
use super::pagination::{self, ConnectionTotals, CursorSpec, KeyKind, PageArgs};
use super::recognition::GqlRoute;
use super::scalars::{Date, DateTime, Decimal};
use crate::auth::access::CONFIDENTIAL_READERS;
use crate::error::{AppError, AppResult};
use crate::policy::Money;
use crate::services::batched;
use crate::services::keyset::{self, KeyPart};
use crate::services::records::{
    Db, EnterpriseEventRecord, EnterpriseFactsRecord, EnterpriseRecord, FiguresRecord,
    PaymentLineRecord, RecognitionRecord, StarRatingRecord,
};
use crate::services::registry::read::ListFilter;
use crate::services::registry::{self as service, EventKind, read, write};

// ---------------------------------------------------------------------------------------------
// Loaders
// ---------------------------------------------------------------------------------------------

/// Batches the nested reads of enterprises (facts on a date, figures, events, districts).
pub struct EnterpriseLoader {
    db: Db,
}

/// The loader as stored in the schema data. It caches nothing, so sharing it between requests
/// never serves stale rows; it only merges the keys asked for at the same time.
pub type EnterpriseDataLoader = DataLoader<EnterpriseLoader>;

/// The data loader for `db`, spawning its batches on the tokio runtime.
pub fn loader(db: Db) -> EnterpriseDataLoader {
    DataLoader::new(EnterpriseLoader { db }, tokio::spawn)
}

/// The facts of an enterprise on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FactsKey {
    /// Enterprise id.
    pub enterprise_id: i64,
    /// The day.
    pub on: NaiveDate,
}

/// All yearly figures of an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiguresKey(pub i64);

/// All events of an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventsKey(pub i64);

fn load_error(err: AppError) -> async_graphql::Error {
    err.to_graphql()
}

impl Loader<FactsKey> for EnterpriseLoader {
    type Value = EnterpriseFactsRecord;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[FactsKey]) -> Result<HashMap<FactsKey, Self::Value>, Self::Error> {
        let pairs: Vec<(i64, NaiveDate)> = keys.iter().map(|k| (k.enterprise_id, k.on)).collect();
        let mut result = HashMap::new();
        for (on, ids) in read::group_by_date(&pairs) {
            let rows = read::facts_as_of_many(&self.db, &ids, on)
                .await
                .map_err(load_error)?;
            result.extend(
                rows.into_iter()
                    .map(|(enterprise_id, row)| (FactsKey { enterprise_id, on }, row)),
            );
        }
        Ok(result)
    }
}

impl Loader<FiguresKey> for EnterpriseLoader {
    type Value = Vec<FiguresRecord>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[FiguresKey],
    ) -> Result<HashMap<FiguresKey, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = read::figures_of_many(&self.db, &ids)
            .await
            .map_err(load_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, rows)| (FiguresKey(id), rows))
            .collect())
    }
}

impl Loader<EventsKey> for EnterpriseLoader {
    type Value = Vec<EnterpriseEventRecord>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[EventsKey],
    ) -> Result<HashMap<EventsKey, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = read::events_of_many(&self.db, &ids)
            .await
            .map_err(load_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, rows)| (EventsKey(id), rows))
            .collect())
    }
}

/// All recognitions of an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecognitionsKey(pub i64);

/// All star ratings of an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatingsKey(pub i64);

/// The latest `limit` payment lines of an enterprise (payment date, then report order),
/// optionally only those one district reported.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaymentsKey {
    /// Enterprise id.
    pub enterprise_id: i64,
    /// How many of the latest lines.
    pub limit: u32,
    /// Only the lines of this reporting district (a district actor's own).
    pub district: Option<String>,
}

impl Loader<RecognitionsKey> for EnterpriseLoader {
    type Value = Vec<RecognitionRecord>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[RecognitionsKey],
    ) -> Result<HashMap<RecognitionsKey, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = batched::recognitions_of_many(&self.db, &ids)
            .await
            .map_err(load_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, rows)| (RecognitionsKey(id), rows))
            .collect())
    }
}

impl Loader<RatingsKey> for EnterpriseLoader {
    type Value = Vec<StarRatingRecord>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[RatingsKey],
    ) -> Result<HashMap<RatingsKey, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = batched::ratings_of_many(&self.db, &ids)
            .await
            .map_err(load_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, rows)| (RatingsKey(id), rows))
            .collect())
    }
}

impl Loader<PaymentsKey> for EnterpriseLoader {
    type Value = Vec<PaymentLineRecord>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[PaymentsKey],
    ) -> Result<HashMap<PaymentsKey, Self::Value>, Self::Error> {
        let mut groups: HashMap<(u32, Option<String>), Vec<i64>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.limit, key.district.clone()))
                .or_default()
                .push(key.enterprise_id);
        }
        let mut result = HashMap::new();
        for ((limit, district), ids) in groups {
            let mut grouped =
                batched::latest_payments_of_many(&self.db, &ids, limit, district.as_deref())
                    .await
                    .map_err(load_error)?;
            for id in ids {
                result.insert(
                    PaymentsKey {
                        enterprise_id: id,
                        limit,
                        district: district.clone(),
                    },
                    grouped.remove(&id).unwrap_or_default(),
                );
            }
        }
        Ok(result)
    }
}

/// The stored verdict of a payment line (by line id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerdictKey(pub i64);

impl Loader<VerdictKey> for EnterpriseLoader {
    type Value = crate::services::records::LineVerdictRecord;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[VerdictKey],
    ) -> Result<HashMap<VerdictKey, Self::Value>, Self::Error> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = crate::services::reconciliation::verdicts_for(&self.db, &ids)
            .await
            .map_err(load_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, row)| (VerdictKey(id), row))
            .collect())
    }
}

/// The benefits of an enterprise for a year, with the §7 totals of one district's lines (a
/// district reader's own) or of all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BenefitsKey {
    /// Enterprise id.
    pub enterprise_id: i64,
    /// The year.
    pub year: i32,
    /// Count the §7 totals over this district's lines only.
    pub own_district: Option<String>,
}

impl Loader<BenefitsKey> for EnterpriseLoader {
    type Value = crate::services::benefits::BenefitsRow;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[BenefitsKey],
    ) -> Result<HashMap<BenefitsKey, Self::Value>, Self::Error> {
        let mut groups: HashMap<(i32, Option<String>), Vec<i64>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.year, key.own_district.clone()))
                .or_default()
                .push(key.enterprise_id);
        }
        let mut result = HashMap::new();
        for ((year, own_district), ids) in groups {
            let rows =
                crate::services::benefits::of_ids(&self.db, own_district.as_deref(), &ids, year)
                    .await
                    .map_err(load_error)?;
            result.extend(rows.into_iter().map(|(enterprise_id, row)| {
                (
                    BenefitsKey {
                        enterprise_id,
                        year,
                        own_district: own_district.clone(),
                    },
                    row,
                )
            }));
        }
        Ok(result)
    }
}

/// The request's data loader (enterprises' nested fields, districts, line verdicts).
pub(super) fn data_loader<'a>(ctx: &Context<'a>) -> AppResult<&'a EnterpriseDataLoader> {
    ctx.data::<EnterpriseDataLoader>()
        .map_err(|_| AppError::internal("schema executed without the enterprise loader"))
}

async fn facts_on(
    ctx: &Context<'_>,
    enterprise_id: i64,
    on: NaiveDate,
) -> Result<Option<EnterpriseFactsRecord>> {
    data_loader(ctx)?
        .load_one(FactsKey { enterprise_id, on })
        .await
}

/// The district `code`, from the districts the service read at start-up (no statement).
fn district_by_code(ctx: &Context<'_>, code: Option<&str>) -> Result<Option<District>> {
    let Some(code) = code else {
        return Ok(None);
    };
    let state = super::state(ctx)?;
    Ok(state
        .districts
        .record(code)
        .cloned()
        .map(District::try_from)
        .transpose()?)
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// Ownership kinds (the registry's facts, §19); a subsidiary controlled by an SOE carries its
/// controller's kind.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::Ownership"
)]
pub enum Ownership {
    /// Privately owned.
    Private,
    /// Foreign-invested.
    Foreign,
    /// Collectively owned.
    Collective,
    /// Owned by the central government (央企).
    CentralSoe,
    /// Owned by Zhejiang province (省属).
    ProvincialSoe,
    /// Owned by Hangzhou (市属).
    MunicipalSoe,
    /// Owned by a Hangzhou district or county (区、县（市）属).
    DistrictSoe,
    /// Owned by another province or city.
    OtherSoe,
    /// Anything else.
    Other,
}

/// The kinds of events in an enterprise's history (§19, plus the registration).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::registry::EventKind"
)]
pub enum EnterpriseEventKind {
    /// Entered into the registry with all initial facts (recorded by `registerEnterprise` only).
    Registered,
    /// 更名: changes `name`.
    Renamed,
    /// 注册资本变更: changes `registeredCapital`.
    CapitalChanged,
    /// 合并: may change name, capital, ownership, industry, outside units, operating, legal
    /// person, unified accounting.
    Merged,
    /// 分立: the same facts as a merger.
    Split,
    /// 解散: sets `operating` to false; takes no changes.
    Dissolved,
    /// 清算: sets `operating` to false; takes no changes.
    Liquidated,
    /// 股权转让: may change `ownership`.
    EquityTransferred,
    /// Moved into Hangzhou: needs `districtCode`; `hangzhouSince` becomes the effective date.
    MovedIntoHangzhou,
    /// Moved out of Hangzhou: district and `hangzhouSince` become null; takes no changes.
    MovedOutOfHangzhou,
    /// Moved between Hangzhou districts: needs `districtCode`.
    MovedDistrict,
    /// Acquired office premises in Hangzhou: `ownsOffice` becomes true; takes no changes.
    OfficeAcquired,
    /// Disposed of its last office premises in Hangzhou: `ownsOffice` becomes false.
    OfficeDisposed,
    /// Updates flags and counts: industry, guidance, legal person flags, unified accounting, R&D
    /// flags, outside units, listing, dishonesty.
    FactsUpdated,
    /// Corrects any fact recorded wrongly.
    Corrected,
}

/// An enterprise of the registry, identified by its unified social credit code.
#[derive(Debug, Clone)]
pub struct Enterprise(pub EnterpriseRecord, Option<Arc<PagePrefetch>>);

/// What the enterprise list read for its whole page at once (one statement), so that the page's
/// nested fields cost the same statements whatever the page size: the facts of its enterprises on
/// one day (today, the default `asOf`). Districts need no statement (see [`district_by_code`]).
#[derive(Debug, Default)]
pub struct PagePrefetch {
    on: NaiveDate,
    facts: HashMap<i64, EnterpriseFactsRecord>,
}

impl Enterprise {
    /// Its facts on `on`: from the page's prefetch when it holds that day, else the loader.
    async fn facts_on(
        &self,
        ctx: &Context<'_>,
        on: NaiveDate,
    ) -> Result<Option<EnterpriseFactsRecord>> {
        match &self.1 {
            Some(page) if page.on == on => Ok(page.facts.get(&self.0.id).cloned()),
            _ => facts_on(ctx, self.0.id, on).await,
        }
    }
}

impl Enterprise {
    /// `FORBIDDEN` unless the caller may read this enterprise's confidential data (figures,
    /// benefits): staff readers always, a `DISTRICT` actor when the enterprise is registered in
    /// its district today, a `VIEWER` never.
    async fn ensure_confidential_readable<'a>(
        &self,
        ctx: &Context<'a>,
        what: &str,
    ) -> Result<&'a crate::auth::Actor> {
        let actor = super::actor(ctx)?;
        let allowed = if actor.district_scope().is_some() {
            let facts = self.facts_on(ctx, service::today()).await?;
            actor.sees_confidential_of(facts.as_ref().and_then(|f| f.district_code.as_deref()))
        } else {
            actor.sees_confidential_of(None)
        };
        if !allowed {
            return Err(AppError::Forbidden(format!(
                "role {} may not read the {what} of {}",
                actor.role, self.0.credit_code
            ))
            .into());
        }
        Ok(actor)
    }
}

impl From<EnterpriseRecord> for Enterprise {
    fn from(model: EnterpriseRecord) -> Self {
        Enterprise(model, None)
    }
}

/// An enterprise of the registry, identified by its unified social credit code; its facts as
/// of a date, its figures, recognitions, ratings and history.
#[Object]
impl Enterprise {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::Enterprise,
            &[&self.0.credit_code],
        ))
    }

    /// The unified social credit code (统一社会信用代码, GB 32100-2015), 18 characters.
    async fn credit_code(&self) -> &str {
        &self.0.credit_code
    }

    /// The name on `asOf` (default: today in Hangzhou); null before the enterprise's facts start.
    async fn name(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day to read (default: today in Hangzhou).")] as_of: Option<Date>,
    ) -> Result<Option<String>> {
        let on = as_of.map_or_else(service::today, Into::into);
        Ok(self.facts_on(ctx, on).await?.map(|f| f.name))
    }

    /// The district the enterprise is registered in on `asOf` (default: today in Hangzhou); null
    /// when it is outside Hangzhou or its facts have not started yet.
    async fn district(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day to read (default: today in Hangzhou).")] as_of: Option<Date>,
    ) -> Result<Option<District>> {
        let on = as_of.map_or_else(service::today, Into::into);
        let facts = self.facts_on(ctx, on).await?;
        district_by_code(ctx, facts.as_ref().and_then(|f| f.district_code.as_deref()))
    }

    /// Every fact on `asOf` (default: today in Hangzhou); null before the facts start.
    async fn facts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day to read (default: today in Hangzhou).")] as_of: Option<Date>,
    ) -> Result<Option<EnterpriseFacts>> {
        let on = as_of.map_or_else(service::today, Into::into);
        self.facts_on(ctx, on)
            .await?
            .map(|row| service::period_from_row(&row).map(EnterpriseFacts::from))
            .transpose()
            .map_err(Into::into)
    }

    /// The enterprise's history, in (effective date, recording) order, as a Relay connection.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Events after this cursor.")] after: Option<String>,
        #[graphql(desc = "Events before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N events (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N events (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, EnterpriseEvent, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&EVENT_CURSOR, state.pages)?;
        // One statement for the histories of every enterprise on the page (the loader); a
        // history is short, so its page is cut from it by key.
        let rows = data_loader(ctx)?
            .load_one(EventsKey(self.0.id))
            .await?
            .unwrap_or_default();
        let total = rows.len() as u64;
        let page = keyset::in_memory(rows, &request, |row| {
            vec![KeyPart::Date(row.effective_date), KeyPart::Int(row.id)]
        });
        Ok(pagination::connection(
            &EVENT_CURSOR,
            page.try_map(EnterpriseEvent::try_from)?,
            ConnectionTotals::known(total),
        ))
    }

    /// Yearly figures (confidential), in year order; only `year` if given. `FORBIDDEN` for a
    /// `VIEWER`, and for a `DISTRICT` actor unless the enterprise is registered in its district today.
    async fn figures(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this year.")] year: Option<i32>,
    ) -> Result<Option<Vec<YearlyFigures>>> {
        self.ensure_confidential_readable(ctx, "figures").await?;
        let rows = data_loader(ctx)?
            .load_one(FiguresKey(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(Some(
            rows.into_iter()
                .filter(|row| year.is_none_or(|y| row.year == y))
                .map(YearlyFigures::from)
                .collect(),
        ))
    }

    /// Its benefits for `year` (§6, §7, §8, §10, §12; confidential), as `Query.benefits`:
    /// `FORBIDDEN` for a `VIEWER`, and for a `DISTRICT` actor unless the enterprise is registered
    /// in its district today (the access of `figures`); `BAD_USER_INPUT` for a year outside 2023
    /// to 2027. The enterprises of a page are read together.
    async fn benefits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year Y: a recognition year of the policy, 2023 to 2027.")] year: i32,
    ) -> Result<Option<super::benefits::Benefits>> {
        let actor = self.ensure_confidential_readable(ctx, "benefits").await?;
        crate::services::benefits::check_year("year", year)?;
        let row = data_loader(ctx)?
            .load_one(BenefitsKey {
                enterprise_id: self.0.id,
                year,
                own_district: actor.district_scope().map(str::to_string),
            })
            .await?;
        Ok(row.map(Into::into))
    }

    /// Its recognitions (§4), in year order: year, decision date, route.
    pub(super) async fn recognitions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<EnterpriseRecognition>> {
        let rows = data_loader(ctx)?
            .load_one(RecognitionsKey(self.0.id))
            .await?
            .unwrap_or_default();
        rows.into_iter()
            .map(|r| {
                Ok(EnterpriseRecognition {
                    credit_code: self.0.credit_code.clone(),
                    year: r.year,
                    decided_on: Date(r.decided_on),
                    route: GqlRoute::parse(&r.route)?,
                    needs_review: r.needs_review,
                    rule_set: r.rule_set,
                })
            })
            .collect()
    }

    /// Its star ratings (§5), in year order.
    pub(super) async fn star_ratings(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<EnterpriseStarRating>> {
        let rows = data_loader(ctx)?
            .load_one(RatingsKey(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|r| EnterpriseStarRating {
                credit_code: self.0.credit_code.clone(),
                year: r.year,
                stars: r.stars,
            })
            .collect())
    }

    /// Its star rating for `year`; null if not rated.
    async fn star_rating(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rating year.")] year: i32,
    ) -> Result<Option<i32>> {
        let rows = data_loader(ctx)?
            .load_one(RatingsKey(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().find(|r| r.year == year).map(|r| r.stars))
    }

    /// Its latest §7 payment lines (confidential), newest payment first. `FORBIDDEN` for a
    /// `VIEWER`; a `DISTRICT` actor sees only the lines its own district reported.
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many of the latest lines (1 to 100).", default = 20)] latest: i32,
    ) -> Result<Vec<super::payments::PaymentLine>> {
        let actor = super::actor(ctx)?;
        if actor.role == crate::auth::Role::Viewer {
            return Err(AppError::Forbidden("payment lines are confidential".into()).into());
        }
        let limit = u32::try_from(latest)
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| AppError::bad_input("latest", "must be between 1 and 100"))?;
        let rows = data_loader(ctx)?
            .load_one(PaymentsKey {
                enterprise_id: self.0.id,
                limit,
                district: actor.district_scope().map(str::to_string),
            })
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(super::payments::PaymentLine::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// When the enterprise was entered into this service (UTC).
    async fn registered_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// A recognition of the enterprise (§4), as the registry shows it.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct EnterpriseRecognition {
    #[graphql(skip)]
    pub credit_code: String,
    /// The recognition year.
    pub year: i32,
    /// The decision date.
    pub decided_on: Date,
    /// The route it was recognised through.
    pub route: GqlRoute,
    /// Whether its industry class is one the HQ office reviews (`recognition.review_industries`).
    pub needs_review: bool,
    /// The code of the rule set it was decided under (`ruleSets`), e.g. `HZ-2023-3`.
    pub rule_set: String,
}

/// A star rating of the enterprise (§5).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct EnterpriseStarRating {
    #[graphql(skip)]
    pub credit_code: String,
    /// The rating year.
    pub year: i32,
    /// 1 to 5 stars.
    pub stars: i32,
}

#[ComplexObject]
impl EnterpriseRecognition {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::EnterpriseRecognition,
            &[&self.credit_code, &self.year],
        ))
    }
}

#[ComplexObject]
impl EnterpriseStarRating {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::EnterpriseStarRating,
            &[&self.credit_code, &self.year],
        ))
    }
}

#[ComplexObject]
impl EnterpriseFacts {
    /// The registered district; null = outside Hangzhou.
    async fn district(&self, ctx: &Context<'_>) -> Result<Option<District>> {
        district_by_code(ctx, self.district_code.as_deref())
    }
}

/// One event of an enterprise's history. Events are never edited: a mistake is fixed by a
/// `CORRECTED` event.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct EnterpriseEvent {
    /// The event's database id: a sequence number, increasing in recording order.
    pub database_id: i64,
    /// What happened.
    pub kind: EnterpriseEventKind,
    /// The day the change takes effect.
    pub effective_date: Date,
    /// The facts it set: an object keyed by the field names of `EnterpriseFacts` (money as a
    /// decimal string in yuan, `null` clearing a fact).
    pub changes: Json<serde_json::Value>,
    /// Free-text note.
    pub note: Option<String>,
    /// When it was recorded (UTC).
    pub recorded_at: DateTime,
    #[graphql(skip)]
    recorded_by: String,
}

#[ComplexObject]
impl EnterpriseEvent {
    /// Who recorded it (token subject): staff provenance, `FORBIDDEN` for `DISTRICT` and `VIEWER`.
    async fn recorded_by(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let actor = super::actor(ctx)?;
        if CONFIDENTIAL_READERS.contains(&actor.role) {
            Ok(Some(&self.recorded_by))
        } else {
            Err(AppError::Forbidden(format!(
                "role {} may not read who recorded an event",
                actor.role
            ))
            .into())
        }
    }
}

impl TryFrom<EnterpriseEventRecord> for EnterpriseEvent {
    type Error = AppError;

    fn try_from(row: EnterpriseEventRecord) -> AppResult<Self> {
        let kind: EventKind = row.kind.parse().map_err(AppError::internal)?;
        let changes = serde_json::from_str(&row.changes).map_err(AppError::internal)?;
        Ok(EnterpriseEvent {
            database_id: row.id,
            kind: kind.into(),
            effective_date: Date(row.effective_date),
            changes: Json(changes),
            note: row.note,
            recorded_at: row.recorded_at.into(),
            recorded_by: row.recorded_by,
        })
    }
}

/// An enterprise's figures for one year (confidential).
#[derive(SimpleObject, Debug, Clone)]
pub struct YearlyFigures {
    /// The year.
    pub year: i32,
    /// Hangzhou revenue (在杭营业收入) in yuan, net of real-estate development income.
    pub revenue: Decimal,
    /// Hangzhou R&D spending (在杭研发费用) in yuan.
    pub rd_spend: Decimal,
}

impl From<FiguresRecord> for YearlyFigures {
    fn from(row: FiguresRecord) -> Self {
        YearlyFigures {
            year: row.year,
            revenue: Money::from_fen(row.revenue_fen).into(),
            rd_spend: Money::from_fen(row.rd_spend_fen).into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

/// Filters of `enterprises`; all optional, combined with AND.
#[derive(InputObject, Debug, Default)]
pub struct EnterpriseFilter {
    /// The day the district, industry and name filters (and the list itself) are read on;
    /// default today in Hangzhou. Enterprises whose facts start later are not listed.
    pub as_of: Option<Date>,
    /// Only enterprises registered in this district (GB/T 2260 code) on `asOf`.
    pub district_code: Option<String>,
    /// Only industry classes starting with these 1 to 4 digits, e.g. `65` or `7211`.
    pub industry_prefix: Option<String>,
    /// Only names (on `asOf`) containing this text.
    pub name_contains: Option<String>,
    /// Only enterprises recognised as HQs for this year.
    pub recognized_in: Option<i32>,
    /// Only enterprises recognised through this route, in `recognizedIn` if given, else in any
    /// year.
    pub route: Option<GqlRoute>,
    /// Only enterprises rated for this year.
    pub rated_in: Option<i32>,
    /// Only enterprises with this many stars (1 to 5), in `ratedIn` if given, else in any year.
    pub stars: Option<i32>,
}

/// Orders of `enterprises`; ties are broken by credit code.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::services::registry::read::ListOrder"
)]
pub enum EnterpriseOrderBy {
    /// By credit code.
    #[default]
    CreditCode,
    /// By name on the filter's `asOf`.
    Name,
    /// By `hangzhouSince`, earliest first; enterprises outside Hangzhou last.
    HangzhouSince,
    /// Most recently entered into the service first.
    RecentlyRegistered,
}

/// Registry queries.
#[derive(Default)]
pub struct EnterpriseQuery;

#[Object]
impl EnterpriseQuery {
    /// One enterprise by its unified social credit code; null if none is registered under it.
    pub(super) async fn enterprise(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "18 characters; trimmed and upper-cased.")] credit_code: String,
    ) -> Result<Option<Enterprise>> {
        let state = super::state(ctx)?;
        let row = read::find_by_credit_code(&state.db, &credit_code).await?;
        Ok(row.map(Enterprise::from))
    }

    /// The registry, filtered and ordered, as a Relay connection.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn enterprises(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters, combined with AND.")] filter: Option<EnterpriseFilter>,
        #[graphql(desc = "The order (default: by credit code).")] order_by: Option<
            EnterpriseOrderBy,
        >,
        #[graphql(desc = "Enterprises after this cursor.")] after: Option<String>,
        #[graphql(desc = "Enterprises before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N enterprises (1 to the maximum page size).")] first: Option<
            i32,
        >,
        #[graphql(desc = "The last N enterprises (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, Enterprise, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let filter = filter.unwrap_or_default();
        let mut list_filter = ListFilter {
            as_of: filter.as_of.map_or_else(service::today, Into::into),
            district_code: filter.district_code,
            industry_prefix: filter.industry_prefix,
            name_contains: filter.name_contains,
            recognized_in: filter.recognized_in,
            route: filter
                .route
                .map(|route| crate::policy::Route::from(route).as_str().to_string()),
            rated_in: filter.rated_in,
            stars: filter.stars,
        };
        read::validate_filter(&mut list_filter)?;
        let order: read::ListOrder = order_by.unwrap_or_default().into();
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let spec = enterprise_cursor(order);
        let request = args.request(&spec, state.pages)?;
        let facts_on = selects_facts(ctx).then(service::today);
        let (page, with_facts) =
            read::page(&state.db, &list_filter, order, &request, facts_on).await?;
        let prefetch = match facts_on {
            Some(on) => Some(prefetch(&state.db, &page, on, with_facts).await?),
            None => None,
        };
        let db = state.db.clone();
        let totals = ConnectionTotals::lazy(move || {
            let (db, filter) = (db.clone(), list_filter.clone());
            async move { read::count(&db, &filter).await }
        });
        Ok(pagination::connection(
            &spec,
            page.map(|(row, _)| Enterprise(row, prefetch.clone())),
            totals,
        ))
    }
}

/// Whether the list's nodes select a field reading the facts (`name`, `district`, `facts`,
/// `figures`, with or without `asOf`).
fn selects_facts(ctx: &Context<'_>) -> bool {
    let look = ctx.look_ahead();
    let nodes = [look.field("edges").field("node"), look.field("nodes")];
    ["name", "district", "facts", "figures"]
        .iter()
        .any(|name| nodes.iter().any(|node| node.field(name).exists()))
}

/// The facts on `on` of every enterprise of `page`, for its nodes: those that came with the page
/// (`with_facts`), else read in one statement. Other days go through the loader.
async fn prefetch(
    db: &Db,
    page: &keyset::Page<read::EnterpriseWithFacts>,
    on: NaiveDate,
    with_facts: bool,
) -> Result<Arc<PagePrefetch>, AppError> {
    let facts = if with_facts {
        page.items
            .iter()
            .filter_map(|(_, (e, facts))| Some((e.id, facts.clone()?)))
            .collect()
    } else if page.items.is_empty() {
        HashMap::new()
    } else {
        let ids: Vec<i64> = page.items.iter().map(|(_, (e, _))| e.id).collect();
        read::facts_as_of_many(db, &ids, on).await?
    };
    Ok(Arc::new(PagePrefetch { on, facts }))
}

/// The cursors of `Enterprise.events`: effective date and event id.
const EVENT_CURSOR: CursorSpec = CursorSpec {
    list: "enterpriseEvents",
    key: &[KeyKind::Date, KeyKind::Int],
};

/// The cursors of `enterprises` in `order`: the row's sort key (see `read::page`).
fn enterprise_cursor(order: read::ListOrder) -> CursorSpec {
    use read::ListOrder;
    match order {
        ListOrder::CreditCode => CursorSpec {
            list: "enterprises/creditCode",
            key: &[KeyKind::Text],
        },
        ListOrder::Name => CursorSpec {
            list: "enterprises/name",
            key: &[KeyKind::Text, KeyKind::Text],
        },
        ListOrder::HangzhouSince => CursorSpec {
            list: "enterprises/hangzhouSince",
            key: &[KeyKind::Date, KeyKind::Text],
        },
        ListOrder::RecentlyRegistered => CursorSpec {
            list: "enterprises/recentlyRegistered",
            key: &[KeyKind::Int],
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// Input of `recordEnterpriseEvent`.
#[derive(InputObject, Debug)]
pub struct RecordEnterpriseEventInput {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// What happened (not `REGISTERED`).
    pub kind: EnterpriseEventKind,
    /// The day the change takes effect: on or after the registration, not in the future.
    pub effective_date: Date,
    /// The facts it sets (omit for kinds with a fixed effect).
    pub changes: Option<FactChangesInput>,
    /// Free-text note, e.g. the document the change was read from.
    pub note: Option<String>,
}

/// Input of `recordFigures`.
#[derive(InputObject, Debug)]
pub struct RecordFiguresInput {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// The year the figures are for.
    pub year: i32,
    /// Hangzhou revenue in yuan, net of real-estate development income; ≥ 0, at most 2 decimals.
    pub revenue: Decimal,
    /// Hangzhou R&D spending in yuan; ≥ 0, at most 2 decimals.
    pub rd_spend: Decimal,
}

/// Result of `registerEnterprise`.
#[derive(SimpleObject)]
pub struct RegisterEnterprisePayload {
    /// The registered enterprise.
    pub enterprise: Enterprise,
    /// Warnings that did not stop the registration, e.g. a wrong GB 11714 check digit.
    pub warnings: Vec<String>,
}

/// Result of `recordEnterpriseEvent`.
#[derive(SimpleObject)]
pub struct RecordEnterpriseEventPayload {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// The recorded event.
    pub event: EnterpriseEvent,
}

/// Result of `recordFigures`.
#[derive(SimpleObject)]
pub struct RecordFiguresPayload {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// The figures as stored.
    pub figures: YearlyFigures,
}

/// The HQ office's registry mutations.
#[derive(Default)]
pub struct EnterpriseMutation;

#[Object]
impl EnterpriseMutation {
    /// Registers an enterprise with its initial facts (HQ_OFFICE). `CONFLICT` if the credit code
    /// is already registered; `BAD_USER_INPUT` naming the field for invalid input.
    async fn register_enterprise(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise and its facts on the registration date.")]
        input: RegisterEnterpriseInput,
    ) -> Result<RegisterEnterprisePayload> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let input = input.into_register()?;
        let registered = write::register(&state.db, actor, input).await?;
        Ok(RegisterEnterprisePayload {
            enterprise: Enterprise::from(registered.enterprise),
            warnings: registered.warnings,
        })
    }

    /// Records a §19 event (HQ_OFFICE): the facts it sets hold from its effective date until a
    /// later event changes them. `BAD_USER_INPUT` naming the field when the kind may not change a
    /// fact, or the event contradicts the history.
    async fn record_enterprise_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event: enterprise, kind, date and the facts it sets.")]
        input: RecordEnterpriseEventInput,
    ) -> Result<RecordEnterpriseEventPayload> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let input = service::EventInput {
            credit_code: input.credit_code,
            kind: input.kind.into(),
            effective_date: input.effective_date.into(),
            changes: input
                .changes
                .map(FactChangesInput::into_changes)
                .transpose()?
                .unwrap_or_default(),
            note: input.note,
        };
        let recorded = write::record_event(&state.db, actor, input).await?;
        Ok(RecordEnterpriseEventPayload {
            enterprise: Enterprise::from(recorded.enterprise),
            event: EnterpriseEvent::try_from(recorded.event)?,
        })
    }

    /// Records an enterprise's figures for a year (HQ_OFFICE), replacing earlier ones for that
    /// year. Amounts are exact: more than 2 decimals or a negative amount is `BAD_USER_INPUT`.
    async fn record_figures(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise, the year and its figures.")] input: RecordFiguresInput,
    ) -> Result<RecordFiguresPayload> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let recorded = write::record_figures(
            &state.db,
            actor,
            &input.credit_code,
            input.year,
            input.revenue.into(),
            input.rd_spend.into(),
        )
        .await?;
        Ok(RecordFiguresPayload {
            enterprise: Enterprise::from(recorded.enterprise),
            figures: YearlyFigures::from(recorded.figures),
        })
    }
}
