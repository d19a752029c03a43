use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(text(AuditLog::ActorSub))
                    .col(text(AuditLog::ActorRole))
                    .col(text_null(AuditLog::ActorDistrict))
                    .col(text(AuditLog::Operation))
                    .col(text(AuditLog::TargetType))
                    .col(text_null(AuditLog::TargetId))
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_target")
                    .table(AuditLog::Table)
                    .col(AuditLog::TargetType)
                    .col(AuditLog::TargetId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(big_pk_auto(IdempotencyKeys::Id))
                    .col(text(IdempotencyKeys::Key))
                    .col(text(IdempotencyKeys::ActorSub))
                    .col(text(IdempotencyKeys::Operation))
                    .col(text(IdempotencyKeys::RequestHash))
                    .col(text(IdempotencyKeys::Response))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_idempotency_keys_actor_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ActorSub)
                    .col(IdempotencyKeys::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first: the foreign keys point backwards in creation order.
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorSub,
    ActorRole,
    ActorDistrict,
    Operation,
    TargetType,
    TargetId,
    Before,
    After,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Key,
    ActorSub,
    Operation,
    RequestHash,
    Response,
    CreatedAt,
}
