"""RQ jobs for signpost: plain top-level functions, queued by dotted name with plain arguments."""
