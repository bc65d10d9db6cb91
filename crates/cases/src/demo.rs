//! Demo cases (`aloft serve --demo`): a realistic mix of open cases for the demo travellers,
//! routed to their queues, so the work queue, a case's page and the customer's "Cases" tab
//! have something to show. Idempotent: nothing is added once any case exists.

use aloft_kernel::AccessContext;
use aloft_module::{DemoContext, DemoData};
use futures_util::future::BoxFuture;

use crate::model::Category;
use crate::service::{Cases, NewCase};

const SAMPLES: &[(Category, &str, &str, &str)] = &[
    (
        Category::Baggage,
        "Suitcase missing after LH400",
        "My suitcase did not arrive in New York. This is unacceptable, I have nothing to wear for my meeting.",
        "email",
    ),
    (
        Category::CompensationClaim,
        "Claim for the 4-hour delay of LH400",
        "The flight arrived more than three hours late. I would like the compensation EU261 provides.",
        "web",
    ),
    (
        Category::SpecialAssistance,
        "Wheelchair at the transfer in Frankfurt",
        "My mother needs a wheelchair to the gate for her connection; please make sure it is booked.",
        "phone",
    ),
    (
        Category::Refund,
        "Refund of an unused seat reservation",
        "I paid for a seat I did not get after the aircraft change.",
        "chat",
    ),
    (
        Category::Complaint,
        "Rude staff at the transfer desk",
        "The agent at the transfer desk was rude and did not help me rebook. Very disappointed.",
        "email",
    ),
    (
        Category::Compliment,
        "Wonderful crew on the night flight",
        "Thank you to the cabin crew for looking after my children so kindly.",
        "web",
    ),
    (
        Category::GeneralEnquiry,
        "Can I take my bicycle?",
        "I am flying to Munich next month and want to take my bicycle. What do I need to do?",
        "chat",
    ),
    (
        Category::Suggestion,
        "Vegetarian option on short flights",
        "It would be great to have a vegetarian sandwich on the short flights too.",
        "web",
    ),
];

/// Loads the demo cases.
pub struct Demo(pub Cases);

impl DemoData for Demo {
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
                .fetch_one(self.0.db().pool())
                .await?;
            if existing > 0 || demo.travellers.is_empty() {
                return Ok(None);
            }
            let ctx = AccessContext::system("demo");
            let mut opened = 0;
            for (i, customer) in demo.travellers.iter().take(40).enumerate() {
                let (category, subject, description, channel) = SAMPLES[i % SAMPLES.len()];
                let booking = format!("D{:05}", (demo.seed as usize + i * 7919) % 100_000);
                self.0
                    .open(
                        NewCase {
                            customer_id: *customer,
                            category,
                            subject: subject.to_owned(),
                            description: description.to_owned(),
                            channel: channel.to_owned(),
                            booking_reference: Some(booking),
                            queue: None,
                            regulatory_deadline: None,
                        },
                        &ctx,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("demo case: {e}"))?;
                opened += 1;
            }
            Ok(Some(format!("{opened} open cases in the work queues")))
        })
    }
}
