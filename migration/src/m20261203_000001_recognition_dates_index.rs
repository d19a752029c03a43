//! Adds `ix_recognitions_enterprise_year_decided` (enterprise, year, decision date): the index
//! covers what reconciliation and the benefits view read of a recognition (`contexts`: which
//! years an enterprise was recognised for, and on which day), so that read never visits the
//! table. A recognition's row carries its whole verdict (kilobytes of JSON), so each row read
//! from the table is a page of its own: 1,400 recognitions cost 1,400 page reads, against a
//! few leaf pages of the index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Recognitions {
    Table,
    EnterpriseId,
    Year,
    DecidedOn,
}

const INDEX: &str = "ix_recognitions_enterprise_year_decided";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Recognitions::Table)
                    .col(Recognitions::EnterpriseId)
                    .col(Recognitions::Year)
                    .col(Recognitions::DecidedOn)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(Recognitions::Table)
                    .to_owned(),
            )
            .await
    }
}
