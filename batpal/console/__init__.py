"""What a command shows a user: stage banners, the frames progress bar, the end-of-command summary table, and the
command's log file in its run directory (no ANSI codes, known third-party noise silenced at its source)."""
