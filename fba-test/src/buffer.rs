//! The memory a trial runs in: allocated fallibly, so a budget too large for
//! the machine is a clear failure instead of an abort, and aligned to 4096
//! bytes, so a measurement does not depend on where the buffer lands.

use std::fmt;
use std::mem::MaybeUninit;

/// The alignment of every trial's buffer. Blocks aligned to at most this
/// land at the same offsets whatever the buffer's address.
pub const BUFFER_ALIGNMENT: usize = 4096;

/// Memory for trials: a reservation of `reserved` bytes from which each
/// trial takes `capacity` bytes starting at a multiple of
/// [`BUFFER_ALIGNMENT`]. A search runs its trials at the limit, at H and at
/// H - 1, in that order, so one reservation serves them all.
#[derive(Default)]
pub(crate) struct TrialBuffer {
    storage: Vec<u8>,
    reserved: usize,
}

/// The buffer for a trial could not be allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BufferUnavailable {
    pub(crate) capacity: usize,
}

impl fmt::Display for BufferUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not allocate a buffer of {} bytes for a trial: the system has no room for it; \
             lower the budget, or FBA_MAX_BYTES for the search",
            self.capacity
        )
    }
}

impl TrialBuffer {
    /// `capacity` aligned bytes, reserved anew (plus room to align them)
    /// when the reservation is smaller, or the reason they could not be. The
    /// OS commits pages only where the body writes.
    pub(crate) fn bytes(
        &mut self,
        capacity: usize,
    ) -> Result<&mut [MaybeUninit<u8>], BufferUnavailable> {
        if capacity == 0 {
            return Ok(&mut []);
        }
        if capacity > self.reserved {
            let unavailable = BufferUnavailable { capacity };
            let total = capacity
                .checked_add(BUFFER_ALIGNMENT - 1)
                .ok_or(unavailable.clone())?;
            self.storage = Vec::new();
            self.reserved = 0;
            self.storage
                .try_reserve_exact(total)
                .map_err(|_| unavailable)?;
            self.reserved = capacity;
        }
        let spare = self.storage.spare_capacity_mut();
        let offset = spare.as_ptr().align_offset(BUFFER_ALIGNMENT);
        Ok(&mut spare[offset..offset + capacity])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_starts_at_a_multiple_of_4096_and_has_the_capacity() {
        let mut buffer = TrialBuffer::default();
        for capacity in [0, 1, 4095, 4096, 100_000, 5000, 0] {
            let bytes = buffer.bytes(capacity).unwrap();
            assert_eq!(bytes.len(), capacity);
            if capacity > 0 {
                assert_eq!(bytes.as_ptr().addr() % BUFFER_ALIGNMENT, 0);
            }
        }
    }

    #[test]
    fn smaller_trials_reuse_the_reservation() {
        let mut buffer = TrialBuffer::default();
        let first = buffer.bytes(8192).unwrap().as_ptr();
        assert_eq!(buffer.bytes(4096).unwrap().as_ptr(), first);
        assert_eq!(buffer.reserved, 8192);
    }

    #[test]
    fn a_buffer_too_large_for_the_machine_is_an_error_not_an_abort() {
        let mut buffer = TrialBuffer::default();
        let error = buffer.bytes(usize::MAX / 2).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("could not allocate a buffer of"),
            "{error}"
        );
        assert!(buffer.bytes(usize::MAX).is_err());
        assert_eq!(buffer.bytes(16).unwrap().len(), 16);
    }
}
