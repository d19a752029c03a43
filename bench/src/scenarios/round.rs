//! `round`: the yearly round, `recognition::round` over every enterprise in the registry on the
//! decision date, read and decided chunk by chunk as the export streams it. Target ≥ 50,000
//! verdicts/s. Before timing, every verdict of the round is checked against `evaluate` for the
//! same enterprise (at most `evaluations` of them), so a fast round that decides differently
//! fails the run.

use super::{Ctx, actor, verdict_at_least};
use crate::data;
use crate::measure::{Memory, thousands};
use crate::{BenchError, Outcome};
use hq_api::auth::Role;
use hq_api::services::recognition::inputs::PolicyCache;
use hq_api::services::recognition::recognize;
use hq_api::services::recognition::round::{CHUNK, Round};

/// The round of [`data::RECOGNITION_YEAR`] decided on [`data::decided_on`].
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== round: recognition::round for every enterprise (year {}, decided {}), chunks of {}",
        data::RECOGNITION_YEAR,
        data::decided_on(),
        thousands(CHUNK)
    )?;
    let hq = actor(Role::HqOffice, None);
    let policy = PolicyCache::new();

    // Verdict by verdict against single evaluations, untimed.
    let mut round = Round::start(
        ctx.db.clone(),
        policy.clone(),
        &hq,
        data::RECOGNITION_YEAR,
        data::decided_on(),
    )
    .await?;
    let mut checked = 0usize;
    'check: while let Some(chunk) = round.next_chunk().await? {
        for entry in chunk {
            if checked >= ctx.size.evaluations {
                break 'check;
            }
            let single = recognize::evaluate(
                &ctx.db,
                &policy,
                &hq,
                &entry.credit_code,
                data::RECOGNITION_YEAR,
                data::decided_on(),
            )
            .await?;
            if single.verdict != entry.verdict
                || single.rule_set.rule_set != entry.rule_set.rule_set
            {
                return Err(BenchError::new(format!(
                    "the round's verdict on {} differs from evaluate's",
                    entry.credit_code
                )));
            }
            checked += 1;
        }
    }

    let memory = Memory::start();
    let mut verdicts = 0usize;
    let mut eligible = 0usize;
    let series = measure!(ctx, {
        verdicts = 0;
        eligible = 0;
        let mut round = Round::start(
            ctx.db.clone(),
            policy.clone(),
            &hq,
            data::RECOGNITION_YEAR,
            data::decided_on(),
        )
        .await?;
        while let Some(chunk) = round.next_chunk().await? {
            verdicts += chunk.len();
            eligible += chunk.iter().filter(|e| e.verdict.eligible).count();
        }
    });
    let memory_text = memory.describe();
    let rate = verdicts as f64 / series.median().as_secs_f64().max(1e-9);
    writeln!(
        ctx.out,
        "round:  {}; {:.0} verdicts/s ({} verdicts, {} eligible); {}",
        series.describe(),
        rate,
        thousands(verdicts as u64),
        thousands(eligible as u64),
        series.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "equal to single evaluations: {} of {} checked; target: {}; {memory_text}",
        thousands(checked as u64),
        thousands(checked as u64),
        verdict_at_least(rate, 50_000.0, "/s"),
    )?;
    Ok(vec![Outcome {
        name: "round",
        text: format!(
            "{:.0} verdicts/s over {} enterprises ({}); {} checked equal to evaluate; {memory_text}",
            rate,
            thousands(verdicts as u64),
            verdict_at_least(rate, 50_000.0, "/s"),
            thousands(checked as u64),
        ),
    }])
}
