//! Indexes for keyset pages: each list is read as `WHERE (key) > (cursor) ORDER BY key LIMIT
//! n + 1`, and each of these gives one list its key in order after its equality filters, so a
//! page (first or deep) reads `n + 1` index entries instead of sorting the whole list. The
//! enterprise list by credit code uses `uq_enterprises_credit_code`, the audit log and findings
//! their primary keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns) of each index.
fn indexes() -> Vec<(&'static str, DynIden, Vec<DynIden>)> {
    vec![
        (
            // A district's lines of a year in report order (`paymentLines`, `Claim.lines`).
            "ix_payment_lines_district_year_seq",
            PaymentLines::Table.into_iden(),
            vec![
                PaymentLines::DistrictCode.into_iden(),
                PaymentLines::FiscalYear.into_iden(),
                PaymentLines::Seq.into_iden(),
            ],
        ),
        (
            // A claim's verdicts in line order (`Claim.verdicts`, `ReconcileResult.verdicts`).
            "ix_line_verdicts_claim_line",
            LineVerdicts::Table.into_iden(),
            vec![
                LineVerdicts::ClaimId.into_iden(),
                LineVerdicts::LineId.into_iden(),
            ],
        ),
        (
            // Claims by fiscal year, then district (`claims`).
            "ix_claims_year_district",
            Claims::Table.into_iden(),
            vec![
                Claims::FiscalYear.into_iden(),
                Claims::DistrictCode.into_iden(),
            ],
        ),
        (
            // The lines a finding names, and the findings naming a line (`findings`).
            "ix_finding_lines_line",
            FindingLines::Table.into_iden(),
            vec![FindingLines::LineId.into_iden()],
        ),
        (
            // An enterprise's history in (effective date, id) order (`Enterprise.events`).
            "ix_enterprise_events_enterprise_date_id",
            EnterpriseEvents::Table.into_iden(),
            vec![
                EnterpriseEvents::EnterpriseId.into_iden(),
                EnterpriseEvents::EffectiveDate.into_iden(),
                EnterpriseEvents::Id.into_iden(),
            ],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in indexes() {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in indexes() {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum PaymentLines {
    Table,
    Seq,
    DistrictCode,
    FiscalYear,
}

#[derive(DeriveIden)]
enum LineVerdicts {
    Table,
    ClaimId,
    LineId,
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    FiscalYear,
    DistrictCode,
}

#[derive(DeriveIden)]
enum FindingLines {
    Table,
    LineId,
}

#[derive(DeriveIden)]
enum EnterpriseEvents {
    Table,
    Id,
    EnterpriseId,
    EffectiveDate,
}
