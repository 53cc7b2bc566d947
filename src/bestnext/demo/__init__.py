"""The demo bank: `bestnext demo load` and `bestnext demo up` (`make demo`)."""
