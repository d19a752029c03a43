//! `draft`: `settlement::draft` from the stored verdicts, against one `GROUP BY district` over
//! them. Target ≤ 1.5×.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::{Ctx, actor, verdict_at_most};
use crate::data::FISCAL_YEAR;
use crate::measure::{Memory, ratio, secs, thousands, top_kinds};
use crate::{BenchError, Outcome};
use hq_api::auth::Role;
use hq_api::services::settlement;
use policy::Money;

/// `settlement::draft` vs one `GROUP BY district` aggregate over the verdicts. Target ≤ 1.5×.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== draft: settlement::draft of {FISCAL_YEAR} from {} stored verdicts ({} districts)",
        thousands(ctx.set.lines),
        ctx.set.districts.len()
    )?;
    let finance = actor(Role::CityFinance, None);
    let memory = Memory::start();
    let kinds = ctx.counter.by_kind();
    let mut granted = 0i64;
    let service = measure!(ctx, {
        let stored = settlement::draft(&ctx.db, &finance, FISCAL_YEAR, None, None).await?;
        granted = stored.settlement.granted_fen;
    });
    let memory_text = memory.describe();
    let top = top_kinds(&kinds, &ctx.counter.by_kind(), ctx.warmup + ctx.runs, 4);
    let backend = ctx.db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT c.district_code, CAST(SUM(v.eligible_fen) AS BIGINT) AS eligible, \
         CAST(SUM(v.cut_fen) AS BIGINT) AS cut, CAST(COUNT(*) AS BIGINT) AS lines \
         FROM line_verdicts v JOIN claims c ON c.id = v.claim_id \
         WHERE c.fiscal_year = {placeholder} GROUP BY c.district_code"
    );
    let db = ctx.db.clone();
    let mut groups = 0usize;
    let floor = measure!(ctx, {
        groups = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql.clone(),
                [Value::from(FISCAL_YEAR)],
            ))
            .await?
            .len();
    });
    let r = ratio(service.median(), floor.median());
    writeln!(
        ctx.out,
        "service: {}; granted {}; {}",
        service.describe(),
        Money::from_fen(granted).format_yuan(),
        service.describe_sql()
    )?;
    writeln!(ctx.out, "         top statements per run: {top}")?;
    writeln!(
        ctx.out,
        "floor:   {} (one GROUP BY district over the verdicts: {groups} groups)",
        floor.describe()
    )?;
    writeln!(
        ctx.out,
        "ratio:   {r:.2}× ({}); {memory_text}",
        verdict_at_most(r, 1.5)
    )?;
    Ok(vec![Outcome {
        name: "draft",
        text: format!(
            "{} vs floor {} = {r:.2}× ({}); {memory_text}",
            secs(service.median()),
            secs(floor.median()),
            verdict_at_most(r, 1.5)
        ),
    }])
}
