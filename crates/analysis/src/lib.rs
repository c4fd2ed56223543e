//! Analysis of run records. Pure: no I/O, no clock.
