//! Transactions: load facts, call the policy, persist, audit. One file per domain.

/// The append-only audit log.
pub mod audit;
/// Batched reads of enterprises' nested fields, for the API's data loader.
pub mod batched;
/// The benefits of HQs for a year (§6, §7, §8, §10, §12), read set-based; nothing stored.
pub mod benefits;
/// Reads of thousands of rows at once, as one row on SQLite.
pub(crate) mod bulk;
/// The live feed of claim events: committed changes, fanned out to every instance's subscribers.
pub mod claim_feed;
/// Bulk import of payment lines from CSV files.
pub mod csv_import;
/// Reading districts.
pub mod districts;
/// Settlement exports (CSV and XLSX).
pub mod export;
/// Findings on approved lines and the adjustments of a later settlement they become (§20 step 6).
pub mod findings;
/// `Idempotency-Key`: stored answers of mutations, replayed on retry.
pub mod idempotency;
/// Keyset pages: a page is the rows after (or before) a sort key, never an offset.
pub mod keyset;
/// The period lock of approved fiscal years (§20 step 5).
pub mod locks;
/// Policy parameters: dated versions, read as a set, appended (never edited).
pub mod parameters;
/// Payment reports and claims (§20 steps 1 and 2).
pub mod payments;
/// Recognition, star ratings and rewards, revocations, the published list and the §1 targets.
pub mod recognition;
/// Reconciling a claim line by line: one stored verdict per line (§20 step 3).
pub mod reconciliation;
/// The stored records handed to the API layer, named for what they are.
pub mod records;
/// The enterprise registry: §19 events, the dated facts folded from them, yearly figures.
pub mod registry;
/// Rule sets by document: the one in force on a date, what each changed, amendments.
pub mod rule_sets;
/// Idempotent seed data: districts, the rule set and the default policy parameters.
pub mod seed;
/// Drafting, approving and reading the yearly settlement (§20 steps 4 and 5).
pub mod settlement;
/// Write transactions (IMMEDIATE on SQLite).
pub mod tx;
/// The settlement workbook (结算表) a finance office can sign.
pub mod workbook;

/// Longest free-text reason accepted (returning a claim, recording a finding).
pub const MAX_REASON_CHARS: usize = 2000;

/// A trimmed, non-empty reason of at most [`MAX_REASON_CHARS`] characters.
///
/// # Errors
/// `BAD_USER_INPUT` on `reason` otherwise.
pub fn reason_text(reason: &str) -> crate::error::AppResult<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(crate::error::AppError::bad_input(
            "reason",
            format!("give a reason of 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason)
}

/// SHA-256 of `bytes` as lower-case hex (claim hashes, idempotency request hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `items` in consecutive owned pieces of at most `size` (the last may be shorter; none for no
/// items), in order, each element moved once: for multi-row inserts that take their rows by
/// value.
pub(crate) fn owned_chunks<T>(items: Vec<T>, size: usize) -> impl Iterator<Item = Vec<T>> {
    let size = size.max(1);
    let mut items = items.into_iter().peekable();
    std::iter::from_fn(move || {
        items.peek()?;
        Some(items.by_ref().take(size).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::owned_chunks;

    #[test]
    fn owned_chunks_keep_every_item_in_order_in_pieces_of_the_size() {
        let pieces: Vec<Vec<u32>> = owned_chunks((1..=7).collect(), 3).collect();
        assert_eq!(pieces, [vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
        assert_eq!(owned_chunks(Vec::<u32>::new(), 3).count(), 0);
        let whole: Vec<Vec<u32>> = owned_chunks(vec![1, 2], 5).collect();
        assert_eq!(whole, [vec![1, 2]]);
    }
}
