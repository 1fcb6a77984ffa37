//! The memory a trial runs in: allocated fallibly, so a budget too large for
//! the machine is a clear failure instead of an abort, and aligned to 4096
//! bytes, so a measurement does not depend on where the buffer lands.

use std::fmt;
use std::mem::MaybeUninit;

/// The alignment of every trial's buffer. Blocks aligned to at most this
/// land at the same offsets whatever the buffer's address.
pub const BUFFER_ALIGNMENT: usize = 4096;

/// A trial's buffer: `capacity` bytes starting at a multiple of
/// [`BUFFER_ALIGNMENT`].
pub(crate) struct TrialBuffer {
    storage: Vec<u8>,
    capacity: usize,
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
    /// Reserves `capacity` bytes (plus room to align them), or says it could
    /// not. The OS commits pages only where the body writes.
    pub(crate) fn new(capacity: usize) -> Result<TrialBuffer, BufferUnavailable> {
        let unavailable = BufferUnavailable { capacity };
        let mut storage = Vec::new();
        let total = capacity
            .checked_add(BUFFER_ALIGNMENT - 1)
            .ok_or(unavailable.clone())?;
        storage.try_reserve_exact(total).map_err(|_| unavailable)?;
        Ok(TrialBuffer { storage, capacity })
    }

    /// The aligned bytes.
    pub(crate) fn bytes(&mut self) -> &mut [MaybeUninit<u8>] {
        let spare = self.storage.spare_capacity_mut();
        let offset = spare.as_ptr().align_offset(BUFFER_ALIGNMENT);
        &mut spare[offset..offset + self.capacity]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_starts_at_a_multiple_of_4096_and_has_the_capacity() {
        for capacity in [0, 1, 4095, 4096, 100_000] {
            let mut buffer = TrialBuffer::new(capacity).unwrap();
            let bytes = buffer.bytes();
            assert_eq!(bytes.len(), capacity);
            assert_eq!(bytes.as_ptr().addr() % BUFFER_ALIGNMENT, 0);
        }
    }

    #[test]
    fn a_buffer_too_large_for_the_machine_is_an_error_not_an_abort() {
        let error = TrialBuffer::new(usize::MAX / 2).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("could not allocate a buffer of"),
            "{error}"
        );
        assert!(TrialBuffer::new(usize::MAX).is_err());
    }
}
