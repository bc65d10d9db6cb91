//! Inbound e-mail (issue 19, item 2): a message received by the airline's mail gateway is filed
//! into a case. A reply that names a case's reference (`C-1A2B3C4D` in the subject, as every
//! notification's subject does) from that case's customer is added to it as the customer's
//! words (paused clocks resume); any other message from a known customer opens a case — its
//! category guessed from the words, linked to the open case about the same matter as every
//! opening is.
//!
//! **Once per message.** The message id is claimed first (`case_inbound_mail`); a second
//! delivery answers with the case the first one filed into. A claim left unfinished by a crash
//! is taken over after [`RECLAIM_AFTER`].
//!
//! **Unknown senders** are refused (422 naming `/from`): the gateway keeps the message and a
//! person files it. The sender's address is looked up through the customers store, never
//! logged.

use aloft_customers::CustomerId;
use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, StorageError};
use chrono::Duration;

use crate::model::Category;
use crate::service::{Case, CaseError, Cases, NewCase, Opened};

/// A claim older than this with no case is taken over (the first attempt crashed).
pub const RECLAIM_AFTER: Duration = Duration::minutes(5);

/// A message as the gateway hands it over.
#[derive(Debug, Clone)]
pub struct InboundMail {
    /// The `Message-ID` (the idempotency key).
    pub message_id: String,
    /// The sender's address.
    pub from: String,
    /// The subject.
    pub subject: String,
    /// The text body.
    pub body: String,
}

/// Where a message went.
#[derive(Debug, Clone)]
pub enum Filed {
    /// Added to the case it answers.
    Appended(Case),
    /// A case opened for it (or the open case about the same matter).
    Opened(Case),
    /// Delivered before: the case it was filed into then.
    Duplicate(String),
}

/// Why a message was not filed.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// No single customer has the sender's address.
    #[error("no single customer has this address")]
    UnknownSender,
    /// The same message is being filed right now.
    #[error("this message is being filed")]
    InProgress,
    /// Filing failed.
    #[error(transparent)]
    Case(#[from] CaseError),
}

impl From<StorageError> for InboundError {
    fn from(e: StorageError) -> Self {
        InboundError::Case(CaseError::Storage(e))
    }
}

/// The case reference in a subject (`… C-1A2B3C4D …`), as the last eight characters of a case
/// id, lower case.
pub fn reference_in(subject: &str) -> Option<String> {
    let upper = subject.to_ascii_uppercase();
    upper.match_indices("C-").find_map(|(i, _)| {
        let tail = upper.get(i + 2..i + 10)?;
        let next = upper[i + 10..].chars().next();
        (tail.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && tail.chars().any(|c| c.is_ascii_hexdigit())
            && next.is_none_or(|c| !c.is_ascii_alphanumeric()))
        .then(|| tail.to_ascii_lowercase())
    })
}

/// The category a message's words suggest (an agent can change it).
pub fn category_of(subject: &str, body: &str) -> Category {
    let text = format!("{subject} {body}").to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&[
        "baggage", "suitcase", "luggage", "my bag", "bag was", "bag is", "bag tag",
    ]) {
        Category::Baggage
    } else if has(&[
        "compensation",
        "eu261",
        "261/2004",
        "delayed flight",
        "cancelled flight",
        "canceled flight",
    ]) {
        Category::CompensationClaim
    } else if has(&["refund", "money back", "reimburse"]) {
        Category::Refund
    } else if has(&["wheelchair", "assistance", "reduced mobility"]) {
        Category::SpecialAssistance
    } else if has(&["thank you", "thanks to", "wonderful", "excellent service"]) {
        Category::Compliment
    } else if has(&[
        "complain",
        "disappointed",
        "unacceptable",
        "terrible",
        "rude",
    ]) {
        Category::Complaint
    } else {
        Category::GeneralEnquiry
    }
}

impl Cases {
    /// Files `mail` (see the module documentation).
    ///
    /// # Errors
    /// An unknown sender, the same message being filed at this moment, or filing failed.
    pub async fn file_inbound(
        &self,
        mail: &InboundMail,
        ctx: &AccessContext,
    ) -> Result<Filed, InboundError> {
        if let Some(done) = self.claim_message(&mail.message_id).await? {
            return Ok(Filed::Duplicate(done));
        }
        let filed = self.file(mail, ctx).await;
        match &filed {
            Ok(Filed::Appended(case) | Filed::Opened(case)) => {
                self.finish_message(&mail.message_id, Some(&case.id), "filed")
                    .await?;
            }
            Ok(Filed::Duplicate(_)) => {}
            Err(InboundError::UnknownSender) => {
                // Refused: the gateway may offer it again once the address is known.
                self.release_message(&mail.message_id).await?;
            }
            Err(_) => self.release_message(&mail.message_id).await?,
        }
        filed
    }

    async fn file(&self, mail: &InboundMail, ctx: &AccessContext) -> Result<Filed, InboundError> {
        let customers = self.customers.by_email(&mail.from).await?;
        let [customer] = customers.as_slice() else {
            return Err(InboundError::UnknownSender);
        };
        if let Some(reference) = reference_in(&mail.subject)
            && let Some(case_id) = self
                .case_of_customer_with_suffix(*customer, &reference)
                .await?
        {
            match self.add_message(&case_id, true, &mail.body, ctx).await {
                Ok(case) => return Ok(Filed::Appended(case)),
                // A reply to a closed case opens a new one below.
                Err(CaseError::Closed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let subject: String = mail.subject.trim().chars().take(200).collect();
        let opened = self
            .open(
                NewCase {
                    customer_id: *customer,
                    category: category_of(&mail.subject, &mail.body),
                    subject: if subject.is_empty() {
                        "(no subject)".into()
                    } else {
                        subject
                    },
                    description: mail.body.chars().take(10_000).collect(),
                    channel: "email".into(),
                    booking_reference: None,
                    queue: None,
                    regulatory_deadline: None,
                },
                ctx,
            )
            .await?;
        Ok(Filed::Opened(match opened {
            Opened::New(c) | Opened::Linked(c) => c,
        }))
    }

    /// The customer's case whose id ends with `suffix`, if exactly one does.
    async fn case_of_customer_with_suffix(
        &self,
        customer: CustomerId,
        suffix: &str,
    ) -> Result<Option<String>, StorageError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE customer_id = $1 ORDER BY opened_at DESC LIMIT 500",
        )
        .bind(customer.to_string())
        .fetch_all(self.db.pool())
        .await?;
        let found: Vec<String> = ids.into_iter().filter(|id| id.ends_with(suffix)).collect();
        Ok((found.len() == 1).then(|| found[0].clone()))
    }

    /// Claims `message_id`: `Some(case)` if it was filed before; `None` when this call may file
    /// it now.
    async fn claim_message(&self, message_id: &str) -> Result<Option<String>, InboundError> {
        let at = now();
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO case_inbound_mail (message_id, claimed_at) VALUES ($1, $2) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(to_db_time(at))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(None);
        }
        let row: (Option<String>, String) = sqlx::query_as(
            "SELECT case_id, claimed_at FROM case_inbound_mail WHERE message_id = $1",
        )
        .bind(message_id)
        .fetch_one(tx.conn())
        .await
        .map_err(StorageError::from)?;
        if let Some(case) = row.0 {
            return Ok(Some(case));
        }
        // Unfinished: taken over only once the first attempt has clearly died.
        let stale = to_db_time(at - RECLAIM_AFTER);
        let taken = sqlx::query(
            "UPDATE case_inbound_mail SET claimed_at = $1 WHERE message_id = $2 AND case_id IS NULL AND claimed_at < $3",
        )
        .bind(to_db_time(at))
        .bind(message_id)
        .bind(stale)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        tx.commit().await?;
        if taken == 1 {
            Ok(None)
        } else {
            Err(InboundError::InProgress)
        }
    }

    async fn finish_message(
        &self,
        message_id: &str,
        case: Option<&str>,
        outcome: &str,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE case_inbound_mail SET case_id = $1, outcome = $2 WHERE message_id = $3",
        )
        .bind(case)
        .bind(outcome)
        .bind(message_id)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    async fn release_message(&self, message_id: &str) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM case_inbound_mail WHERE message_id = $1 AND case_id IS NULL")
            .bind(message_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_found_in_a_reply_subject() {
        assert_eq!(
            reference_in("Re: Your case C-1A2B3C4D: in progress").as_deref(),
            Some("1a2b3c4d")
        );
        assert_eq!(
            reference_in("AW: A reply about your case c-0f9e8d7c"),
            Some("0f9e8d7c".into())
        );
        assert_eq!(reference_in("C-3PO is my favourite"), None);
        assert_eq!(reference_in("Flight LH400 cancelled"), None);
    }

    #[test]
    fn words_suggest_a_category() {
        assert_eq!(
            category_of("My bag", "my bag was not on the belt in Frankfurt"),
            Category::Baggage
        );
        assert_eq!(
            category_of("Claim", "I want compensation for my delayed flight"),
            Category::CompensationClaim
        );
        assert_eq!(
            category_of("Ticket", "please refund my seat fee"),
            Category::Refund
        );
        assert_eq!(
            category_of("Hello", "what time does check-in open?"),
            Category::GeneralEnquiry
        );
    }
}
