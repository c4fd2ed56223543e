//! Renderers of tables and figures. Pure: they return bytes; writing is the caller's job.
