//! The stored records services hand to the API layer, named for what they are. The API layer
//! shapes these and never reaches the entities or the database itself.

pub use entity::adjustments::Model as AdjustmentRecord;
pub use entity::audit_log::Model as AuditRecord;
pub use entity::claims::Model as ClaimRecord;
pub use entity::districts::Model as DistrictRecord;
pub use entity::enterprise_events::Model as EnterpriseEventRecord;
pub use entity::enterprise_facts::Model as EnterpriseFactsRecord;
pub use entity::enterprise_figures::Model as FiguresRecord;
pub use entity::enterprises::Model as EnterpriseRecord;
pub use entity::line_verdicts::Model as LineVerdictRecord;
pub use entity::payment_lines::Model as PaymentLineRecord;
pub use entity::recognitions::Model as RecognitionRecord;
pub use entity::settlement_lines::Model as SettlementLineRecord;
pub use entity::star_ratings::Model as StarRatingRecord;
pub use entity::withdrawn_payment_lines::Model as WithdrawnLineRecord;

/// The database pool services run on.
pub type Db = sea_orm::DatabaseConnection;
