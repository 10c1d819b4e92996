"""Game days: suites of experiments run in a window, on a schedule, with a history."""
