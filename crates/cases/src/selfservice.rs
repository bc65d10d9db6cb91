//! Passenger self-service (issue 19, item 7): what a signed-in passenger may do with their own
//! cases — list them, open one (about one of their bookings), follow its status and the
//! conversation, reply, close it, and rate the resolution once.
//!
//! Every operation takes the passenger's customer id from the caller, who has it from the
//! session's row scope only; a case of another customer is answered exactly as a case that does
//! not exist ([`CaseError::NotFound`]), so ids cannot be probed. What the passenger sees of the
//! timeline is a whitelist ([`passenger_view`]): their words, replies to them and status
//! changes — never routing, assignments, SLA flags, staff ids or anything staff note for
//! themselves.

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, CloudEvent};
use aloft_vocab::CustomerId;

use crate::events::{CaseRated, audit};
use crate::model::{Category, Workflow};
use crate::service::{Case, CaseError, Cases, Entry, NewCase, Opened, TransitionRequest, entry};

/// The channel of cases passengers open themselves.
pub const CHANNEL: &str = "self_service";

/// What the passenger wrote, or what is said to them, as they see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassengerEntry {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `you` or `us` (the airline).
    pub from: &'static str,
    /// What happened, in words.
    pub title: String,
    /// The message, if any.
    pub body: Option<String>,
}

/// Why a rating is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingRefused {
    /// Not between 1 and 5.
    OutOfRange,
    /// The case is not resolved or closed yet.
    NotResolved,
    /// It was rated already (once only).
    AlreadyRated,
}

/// The timeline as the passenger may see it: opening, messages both ways, status changes (with
/// the message sent with them), and requests of theirs linked to it. Nothing else.
pub fn passenger_view(entries: &[Entry], workflow: &Workflow) -> Vec<PassengerEntry> {
    let label = |s: &str| {
        workflow
            .state(s)
            .map_or_else(|| s.replace('_', " "), |d| d.label.clone())
    };
    entries
        .iter()
        .filter_map(|e| {
            let (from, title, body) = match (e.kind.as_str(), e.author.as_deref()) {
                ("opened", _) if e.detail["channel"] == crate::disruptions::CHANNEL => (
                    "us",
                    "We opened this case about your flight".to_owned(),
                    None,
                ),
                ("opened", _) => ("you", "You opened the case".to_owned(), e.body.clone()),
                ("message", Some("customer")) => ("you", "You wrote".to_owned(), e.body.clone()),
                ("message", Some("agent")) => ("us", "We replied".to_owned(), e.body.clone()),
                ("transition", _) => (
                    "us",
                    format!(
                        "Status: {}",
                        label(e.detail["to"].as_str().unwrap_or_default())
                    ),
                    // Only a message meant for the passenger; reasons and resolutions are
                    // staff's words about the case, not to the passenger.
                    if e.author.as_deref() == Some("agent") {
                        e.body.clone()
                    } else {
                        None
                    },
                ),
                ("linked", _) if e.detail["channel"] == crate::disruptions::CHANNEL => (
                    "us",
                    "Your flight's disruption was added to this case".to_owned(),
                    e.body.clone(),
                ),
                ("linked", _) => (
                    "you",
                    "You wrote again about the same matter".to_owned(),
                    e.body.clone(),
                ),
                ("rated", _) => (
                    "you",
                    format!(
                        "You rated the resolution {} of 5",
                        e.detail["csat"].as_i64().unwrap_or_default()
                    ),
                    None,
                ),
                _ => return None,
            };
            Some(PassengerEntry {
                at: e.at,
                from,
                title,
                body,
            })
        })
        .collect()
}

/// The shortest way through `workflow` from `from` to a terminal state (at most three
/// transitions), so a passenger can close a case from wherever it stands without staff's
/// workflow being bypassed; transitions that need a message to the passenger are not theirs to
/// take. `None` when there is none.
pub fn path_to_close(workflow: &Workflow, from: &str) -> Option<Vec<String>> {
    let mut frontier = vec![(from.to_owned(), Vec::<String>::new())];
    for _ in 0..3 {
        let mut next = Vec::new();
        for (state, path) in frontier {
            for t in workflow.next(&state) {
                if path.contains(&t.to) || t.to == from || t.required.iter().any(|r| r == "message")
                {
                    continue;
                }
                let mut p = path.clone();
                p.push(t.to.clone());
                if workflow.is_terminal(&t.to) {
                    return Some(p);
                }
                next.push((t.to.clone(), p));
            }
        }
        frontier = next;
    }
    None
}

impl Cases {
    /// The passenger's own case, or `NotFound` for any other (without saying it exists).
    async fn own_case(&self, id: &str, customer: CustomerId) -> Result<Case, CaseError> {
        match self.get_raw(id).await? {
            Some(c) if c.customer_id == customer.to_string() => Ok(c),
            _ => Err(CaseError::NotFound),
        }
    }

    /// The passenger's cases, newest first; the read is audited.
    pub async fn own_cases(
        &self,
        customer: CustomerId,
        ctx: &AccessContext,
    ) -> Result<Vec<Case>, CaseError> {
        Ok(self.of_customer(&customer.to_string(), ctx).await?)
    }

    /// One of the passenger's cases with the timeline they may see; the read is audited.
    pub async fn own_case_view(
        &self,
        id: &str,
        customer: CustomerId,
        ctx: &AccessContext,
    ) -> Result<(Case, Workflow, Vec<PassengerEntry>), CaseError> {
        self.own_case(id, customer).await?;
        let (case, entries) = self.get(id, ctx).await?;
        let workflow = self.workflow(case.workflow_version).await?;
        let view = passenger_view(&entries, &workflow);
        Ok((case, workflow, view))
    }

    /// Opens a case for the passenger (channel `self_service`), or links it to their open case
    /// about the same matter.
    pub async fn open_own(
        &self,
        customer: CustomerId,
        category: Category,
        subject: String,
        description: String,
        booking_reference: Option<String>,
        ctx: &AccessContext,
    ) -> Result<Opened, CaseError> {
        self.open(
            NewCase {
                customer_id: customer,
                category,
                subject,
                description,
                channel: CHANNEL.into(),
                booking_reference,
                queue: None,
                regulatory_deadline: None,
            },
            ctx,
        )
        .await
    }

    /// The passenger's bookings to choose from (record locator, label).
    pub async fn own_bookings(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<(String, String)>, CaseError> {
        match &self.manifest {
            Some(m) => Ok(m.bookings_of(customer).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The passenger's reply on their own case.
    pub async fn reply_own(
        &self,
        id: &str,
        customer: CustomerId,
        body: &str,
        ctx: &AccessContext,
    ) -> Result<Case, CaseError> {
        self.own_case(id, customer).await?;
        self.add_message(id, true, body, ctx).await
    }

    /// The passenger closes their own case: through the workflow's shortest way to a terminal
    /// state, each transition's required fields saying the passenger closed it.
    pub async fn close_own(
        &self,
        id: &str,
        customer: CustomerId,
        ctx: &AccessContext,
    ) -> Result<Case, CaseError> {
        let case = self.own_case(id, customer).await?;
        let workflow = self.workflow(case.workflow_version).await?;
        if workflow.is_terminal(&case.state) {
            return Err(CaseError::Closed);
        }
        let path = path_to_close(&workflow, &case.state).ok_or(CaseError::Transition(
            crate::model::TransitionError::NotAllowed {
                from: case.state.clone(),
                to: "closed".into(),
            },
        ))?;
        let mut last = case;
        let mut from = last.state.clone();
        for to in path {
            let required = workflow
                .next(&from)
                .find(|t| t.to == to)
                .map(|t| t.required.clone())
                .unwrap_or_default();
            let fields = required
                .into_iter()
                .filter(|f| f != "message")
                .map(|f| (f, "Closed by the passenger".to_owned()))
                .collect();
            last = self
                .transition(
                    id,
                    &TransitionRequest {
                        to: to.clone(),
                        fields,
                    },
                    ctx,
                )
                .await?;
            from = to;
        }
        Ok(last)
    }

    /// The passenger rates the resolution of their own case: 1 to 5, once, only once it is
    /// resolved or closed. `Ok(Err(_))` says why a rating is refused (nothing changes).
    pub async fn rate_own(
        &self,
        id: &str,
        customer: CustomerId,
        csat: i64,
        ctx: &AccessContext,
    ) -> Result<Result<Case, RatingRefused>, CaseError> {
        let case = self.own_case(id, customer).await?;
        if !(1..=5).contains(&csat) {
            return Ok(Err(RatingRefused::OutOfRange));
        }
        let workflow = self.workflow(case.workflow_version).await?;
        if !workflow.is_resolved(&case.state) {
            return Ok(Err(RatingRefused::NotResolved));
        }
        if case.csat.is_some() {
            return Ok(Err(RatingRefused::AlreadyRated));
        }
        let at = now();
        let mut tx = self.db.begin_write().await?;
        // Once: the condition on `csat IS NULL` holds also against a concurrent second rating.
        let rated = sqlx::query(
            "UPDATE cases SET csat = $1, updated_at = $2, version = version + 1 \
             WHERE id = $3 AND customer_id = $4 AND csat IS NULL",
        )
        .bind(csat)
        .bind(to_db_time(at))
        .bind(id)
        .bind(customer.to_string())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if rated == 0 {
            return Ok(Err(RatingRefused::AlreadyRated));
        }
        entry(
            &mut tx,
            id,
            at,
            &ctx.actor.id,
            "rated",
            Some("customer"),
            None,
            serde_json::json!({"csat": csat}),
        )
        .await?;
        tx.emit(&CloudEvent::of(&CaseRated {
            case_id: id.to_owned(),
            customer_id: case.customer_id.clone(),
            csat,
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::RATED,
            "case",
            Some(id.to_owned()),
            vec!["csat".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(Ok(self.get_raw(id).await?.ok_or(CaseError::NotFound)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: &str, author: Option<&str>, body: Option<&str>, detail: serde_json::Value) -> Entry {
        Entry {
            at: chrono::Utc::now(),
            actor: "agent-ana".into(),
            kind: kind.into(),
            author: author.map(str::to_owned),
            body: body.map(str::to_owned),
            detail,
        }
    }

    #[test]
    fn the_passenger_sees_messages_and_status_never_internal_entries() {
        let w = Workflow::shipped();
        let view = passenger_view(
            &[
                e(
                    "opened",
                    None,
                    Some("My bag"),
                    serde_json::json!({"channel": "self_service", "queue": "baggage"}),
                ),
                e(
                    "assigned",
                    None,
                    None,
                    serde_json::json!({"assignee": "agent-ana", "reason": "internal note"}),
                ),
                e("sla", None, None, serde_json::json!({})),
                e(
                    "note",
                    Some("agent"),
                    Some("internal: VIP, be careful"),
                    serde_json::json!({}),
                ),
                e(
                    "message",
                    Some("agent"),
                    Some("We found it"),
                    serde_json::json!({}),
                ),
                e(
                    "transition",
                    None,
                    None,
                    serde_json::json!({"from": "in_progress", "to": "resolved", "fields": {"resolution": "staff words"}}),
                ),
                e(
                    "message",
                    Some("customer"),
                    Some("Thanks"),
                    serde_json::json!({}),
                ),
            ],
            &w,
        );
        let titles: Vec<&str> = view.iter().map(|v| v.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "You opened the case",
                "We replied",
                "Status: Resolved",
                "You wrote"
            ]
        );
        let all = format!("{view:?}");
        assert!(
            !all.contains("agent-ana") && !all.contains("internal") && !all.contains("staff words"),
            "{all}"
        );
    }

    #[test]
    fn a_case_closes_along_the_workflow_from_any_open_state() {
        let w = Workflow::shipped();
        assert_eq!(path_to_close(&w, "new").unwrap(), ["closed"]);
        assert_eq!(path_to_close(&w, "resolved").unwrap(), ["closed"]);
        assert_eq!(
            path_to_close(&w, "waiting_for_customer").unwrap(),
            ["closed"]
        );
        assert_eq!(
            path_to_close(&w, "in_progress").unwrap(),
            ["resolved", "closed"]
        );
        assert_eq!(path_to_close(&w, "closed"), None);
    }
}
