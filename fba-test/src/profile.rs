//! How the buffer filled over a run (`FBA_PROFILE=1`): the bytes in use and
//! the bytes live after each allocation, free and resize, against the
//! number of allocations made so far. One extra run records it (a
//! [`Recorder::profiling`](crate::sites::Recorder::profiling) recorder, no
//! stacks); a long run is thinned evenly to at most 2000 points,
//! keeping the one where the high-water mark was first reached.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::sites::{Event, Record};

/// The most points a profile keeps.
pub(crate) const MAX_POINTS: usize = 2000;

/// The bytes in use and live over one run, as the JSON report's `profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The events the run made (allocations, frees, resizes, resets).
    pub events: usize,
    /// The allocations it made.
    pub allocations: usize,
    /// The most bytes in use at once, and the point where that was first
    /// reached.
    pub high_water_mark: usize,
    /// The index in `points` where the high-water mark was first reached.
    pub high_water_point: usize,
    /// Whether points were left out to keep at most 2000.
    pub thinned: bool,
    /// `[allocations so far, bytes in use, bytes live]` after each kept
    /// event, in order.
    pub points: Vec<[usize; 3]>,
}

impl Profile {
    /// The profile of the run recorded in `record`.
    pub(crate) fn of(record: &Record) -> Profile {
        let mut live_blocks: HashMap<usize, usize> = HashMap::new();
        let (mut allocations, mut live) = (0, 0usize);
        let mut points = Vec::with_capacity(record.events.len());
        for (event, used) in &record.events {
            match *event {
                Event::Allocated { offset, size, .. } => {
                    allocations += 1;
                    live += size;
                    if let Some(earlier) = live_blocks.insert(offset, size) {
                        // A block at the same offset that was never freed
                        // (the allocator was reset outside the observer).
                        live -= earlier;
                    }
                }
                Event::Freed { offset } => {
                    live -= live_blocks.remove(&offset).unwrap_or(0);
                }
                Event::Resized { offset, old, new } => {
                    live = live - old + new;
                    live_blocks.insert(offset, new);
                }
                Event::Reset => {
                    live_blocks.clear();
                    live = 0;
                }
            }
            points.push([allocations, *used, live]);
        }
        Profile::thinned(points, allocations)
    }

    fn thinned(points: Vec<[usize; 3]>, allocations: usize) -> Profile {
        let events = points.len();
        let (high_water_mark, peak) = points
            .iter()
            .enumerate()
            .map(|(index, point)| (point[1], index))
            // The first index of the largest `used`.
            .fold(
                (0, 0),
                |best, (used, index)| {
                    if used > best.0 { (used, index) } else { best }
                },
            );
        let thinned = events > MAX_POINTS;
        let (points, high_water_point) = if thinned {
            // Evenly spread indices, the last event and the peak among them.
            let mut kept: Vec<usize> = (0..MAX_POINTS - 1)
                .map(|i| i * (events - 1) / (MAX_POINTS - 2))
                .collect();
            kept.push(peak);
            kept.sort_unstable();
            kept.dedup();
            let at = kept.binary_search(&peak).unwrap_or(0);
            (kept.iter().map(|&index| points[index]).collect(), at)
        } else {
            (points, peak)
        };
        Profile {
            events,
            allocations,
            high_water_mark,
            high_water_point,
            thinned,
            points,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allocated(offset: usize, size: usize) -> Event {
        Event::Allocated {
            offset,
            size,
            align: 1,
            stack: None,
        }
    }

    #[test]
    fn used_and_live_bytes_follow_allocations_frees_and_resizes() {
        // A bump allocator: a 16-byte block, an 8-byte one after it, the
        // first freed (not reclaimed: not the last), the second grown in
        // place to 24, then a reset.
        let record = Record {
            events: vec![
                (allocated(0, 16), 16),
                (allocated(16, 8), 16 + 8),
                (Event::Freed { offset: 0 }, 16 + 8),
                (
                    Event::Resized {
                        offset: 16,
                        old: 8,
                        new: 24,
                    },
                    16 + 24,
                ),
                (Event::Reset, 0),
            ],
            stacks: Vec::new(),
        };
        let profile = Profile::of(&record);
        assert_eq!(
            profile.points,
            [
                [1, 16, 16],
                [2, 24, 16 + 8],
                [2, 24, 8],
                [2, 40, 24],
                [2, 0, 0]
            ]
        );
        assert_eq!(
            (profile.events, profile.allocations, profile.high_water_mark),
            (5, 2, 40)
        );
        assert_eq!(profile.high_water_point, 3);
        assert!(!profile.thinned);
    }

    #[test]
    fn a_long_run_is_thinned_evenly_and_keeps_its_peak() {
        // Allocations of one byte each, freed at once, except one of 1000
        // bytes somewhere odd: the peak.
        let events = 3 * MAX_POINTS;
        let peak = 1234;
        let points: Vec<[usize; 3]> = (0..events)
            .map(|i| [i + 1, if i == peak { 1000 } else { 1 }, 1])
            .collect();
        let profile = Profile::thinned(points, events);
        assert!(profile.thinned);
        assert!(
            profile.points.len() <= MAX_POINTS,
            "{}",
            profile.points.len()
        );
        assert_eq!(profile.points.first(), Some(&[1, 1, 1]));
        assert_eq!(profile.points.last(), Some(&[events, 1, 1]));
        assert_eq!(
            profile.points[profile.high_water_point],
            [peak + 1, 1000, 1]
        );
        assert_eq!(profile.high_water_mark, 1000);
        // Evenly: the x values grow by about events / MAX_POINTS each.
        let steps: Vec<usize> = profile
            .points
            .windows(2)
            .map(|pair| pair[1][0] - pair[0][0])
            .collect();
        assert!(
            steps
                .iter()
                .all(|&step| step <= events / (MAX_POINTS - 2) + 1)
        );
    }
}
