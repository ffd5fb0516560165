//! Kill recovery, concurrency and resource faults.
