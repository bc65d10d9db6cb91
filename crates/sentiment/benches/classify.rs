//! Throughput of both models on short airline texts (the issue asks ≥ 5,000 texts/s).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use aloft_sentiment::{LabelledText, Model, train};

const TEXTS: &[&str] = &[
    "Flight cancelled with no warning, stranded in Frankfurt overnight and nobody from the staff helped.",
    "The cabin crew were wonderful and the vegetarian meal was delicious, thank you!",
    "Please change my booking to the 14:05 flight to Lisbon and add my miles number.",
    "My suitcase arrived damaged and the refund form on the website does not work.",
    "Seat 23C would not recline but the upgrade to business made up for it.",
    "Delayed three hours at the gate, missed my connection, still waiting for compensation.",
    "Not bad at all, boarding was quick and the lounge was quiet.",
    "I am extremely disappointed with how the agent spoke to my mother at check-in.",
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sentiment");
    group.throughput(Throughput::Elements(TEXTS.len() as u64));
    let builtin = Model::builtin();
    group.bench_function("builtin", |b| {
        b.iter(|| {
            for t in TEXTS {
                std::hint::black_box(builtin.analyse(t));
            }
        })
    });
    let rows: Vec<LabelledText> = (0..3_000)
        .map(|i| {
            let text = TEXTS[i % TEXTS.len()];
            LabelledText {
                id: i.to_string(),
                text: format!("{text} #{i}"),
                label: builtin.analyse(text).label,
            }
        })
        .collect();
    let trained = Model::Trained(Box::new(train(&rows).unwrap().0));
    group.bench_function("naive_bayes", |b| {
        b.iter(|| {
            for t in TEXTS {
                std::hint::black_box(trained.analyse(t));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
