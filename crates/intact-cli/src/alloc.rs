//! The allocator: mimalloc (its v2 line) instead of glibc's malloc.
//!
//! `intact verify` builds hundreds of thousands of small objects on both
//! cores at once. glibc grows each thread's heap 128 KiB at a time, every
//! growth an `mprotect` that stalls the other thread's page faults, and
//! faults its memory in 4 KiB pages; mimalloc takes memory from the system
//! in large committed regions. Interleaved medians on the 50,000-artifact
//! benchmark: 78.5 -> 66.2 ms (docs/performance.md). Its v3 line was as
//! fast but held twice the memory while recording.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v2's `mi_option_purge_delay` (`include/mimalloc.h`): how long
/// freed memory is kept before it goes back to the system, 10 ms by default.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Return freed memory to the system at once. The recorder frees as much
/// as it allocates while walking a tree; kept for 10 ms, that memory took
/// its peak on 100,000 files from 45 to 63 MiB (the recorder's budget is
/// 64). The verifier keeps the default: purging at once cost it a third.
pub fn return_freed_memory_at_once() {
    // SAFETY: sets an integer option, which mimalloc stores atomically and
    // reads whenever it next considers purging.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay() {
        // A different option at this index (another mimalloc version) would
        // not have purge_delay's default of 10 ms.
        // SAFETY: reads an integer option.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }, 10);
        return_freed_memory_at_once();
        // SAFETY: as above.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }, 0);
    }
}
