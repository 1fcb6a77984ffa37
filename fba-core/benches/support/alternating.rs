//! Ratios that a shared machine's drift cannot fake: the subject and its peer
//! timed in alternation, round after round, each round giving one ratio, and
//! the median of the rounds reported with their range. Criterion measures
//! one function after the other, so a machine that slows down between two
//! of its groups moves their ratio; here both sides see the same moment.

use std::time::Duration;

/// Times `subject` and `peer` alternately for `rounds` rounds (after one
/// untimed round of each) and prints the median of the per-round ratios,
/// with the smallest and the largest.
pub(crate) fn compare(
    name: &str,
    rounds: usize,
    mut subject: impl FnMut() -> Duration,
    mut peer: impl FnMut() -> Duration,
) {
    subject();
    peer();
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            // Which goes first alternates too.
            let (s, p) = if round % 2 == 0 {
                let s = subject();
                (s, peer())
            } else {
                let p = peer();
                (subject(), p)
            };
            s.as_secs_f64() / p.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "{name:<56} {median:>6.2} {:>6.2}-{:.2}",
        ratios[0],
        ratios[ratios.len() - 1]
    );
}
