"""The verifier: load generation, probes, and the checks that decide whether a run degraded gracefully."""
