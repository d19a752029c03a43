//! Drops `ix_line_verdicts_claim`: `ix_line_verdicts_claim_line` (claim, line) serves every
//! lookup by claim as well, so the single-column index only cost a second index entry per
//! stored verdict (reconciliation writes one per payment line) and its removal on every
//! re-reconciliation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LineVerdicts {
    Table,
    ClaimId,
}

const INDEX: &str = "ix_line_verdicts_claim";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(LineVerdicts::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(LineVerdicts::Table)
                    .col(LineVerdicts::ClaimId)
                    .to_owned(),
            )
            .await
    }
}
